"""Owner and history, claim_many/settle_many and the process registry (issues 14, 15) on every backend
(memory, SQLite, PostgreSQL, MariaDB, Redis); the checks live in ``process_checks.py``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.stores import process_checks as checks


@pytest.fixture
def make(make_store: Any, store_url: Any) -> Callable[[], Any]:
    """A new store instance on the same data (another process, as far as the store can tell); the memory
    store keeps its data per instance, so there it is always the same one."""
    if store_url[0].startswith("memory"):
        only = make_store()
        return lambda: only
    return lambda: make_store()


@pytest.fixture
def ns() -> str:
    return "n" + uuid.uuid4().hex[:8] + "-"


@pytest.mark.parametrize("check", checks.ALL_CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_check(check: Callable[[Any, str], None], make: Callable[[], Any], ns: str) -> None:
    """Each check of process_checks on this backend (see each check's docstring)."""
    check(make, ns)


def test_concurrent_release(make: Callable[[], Any], ns: str) -> None:
    """Two sweepers in threads, each with its own store instance, prune each dead process once."""
    checks.check_concurrent_release(make, ns, checks.run_threads)
