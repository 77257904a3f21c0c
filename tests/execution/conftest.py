"""Fixtures for the execution tests: the stores to prove the executors on, and a store to share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require_module


@pytest.fixture
def sqlite_store(tmp_path: Path) -> str:
    require_module("sqlalchemy")
    return f"sqlite:///{tmp_path / 'inbox.db'}"


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store the in-process executors are proved on: memory and SQLite."""
    if request.param == "memory":
        return "memory://"
    return request.getfixturevalue("sqlite_store")  # type: ignore[no-any-return]


@pytest.fixture
def shared_store(request: pytest.FixtureRequest, namespace: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A store several processes share: Redis with a unique key prefix (dropped afterwards)."""
    url = request.getfixturevalue("redis_url")
    options = {"prefix": f"{namespace}:"}
    yield url, options
    from hookinbox.stores import store_from_url

    store = store_from_url(url, **options)
    store.drop()  # type: ignore[attr-defined]
    store.close()
