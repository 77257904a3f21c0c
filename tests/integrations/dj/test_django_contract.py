"""The store contract suite (tests/stores/test_contract.py) and the ordering contract
(tests/stores/test_ordering.py), the very same test classes, run on DjangoStore (the in-process SQLite
Django database of this directory's conftest; PostgreSQL: test_django_store.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.stores.test_contract import TestStoreContract
from tests.stores.test_ordering import TestOrderingContract

from hookinbox.django.store import DjangoStore
from hookinbox.stores import Store

__all__ = ["TestOrderingContract", "TestStoreContract"]  # collected here too, on the fixtures below


@pytest.fixture
def store_url() -> tuple[str, dict[str, object]]:
    """The contract's ``(url, options)``: the Django store on the default alias."""
    return "django://", {}


@pytest.fixture
def make_store() -> Iterator[Callable[..., DjangoStore]]:
    """``make_store(**overrides)``: a DjangoStore on the default alias (emptied before each test by conftest)."""
    built: list[DjangoStore] = []

    def make(**overrides: Any) -> DjangoStore:
        store = DjangoStore("default", **overrides)
        built.append(store)
        return store

    yield make
    for store in built:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., DjangoStore]) -> Store:
    return make_store()
