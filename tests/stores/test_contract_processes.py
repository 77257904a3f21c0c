"""Owner and history, claim_many/settle_many and the process registry (issues 14, 15) on every backend
(memory, SQLite, PostgreSQL, MariaDB, Redis); the checks live in ``process_checks.py``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from hookinbox.events import Status
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


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql", "mariadb", "redis"], indirect=True)
def test_batches_are_one_call(make: Callable[[], Any], ns: str) -> None:
    """claim_many and settle_many write a whole batch in one transaction (SQL) or one script call (Redis),
    without going through the per-item batchers."""
    store = make()
    keys = [("shop", f"{ns}{n}") for n in range(8)]
    for _, e in keys:
        store.record(checks.rec(e))
    store.get("shop", keys[0][1])  # the schema exists
    calls: list[str] = []
    if hasattr(store, "engine"):
        import sqlalchemy as sa

        sa.event.listen(store.engine, "begin", lambda conn: calls.append("begin"))
    else:
        for name in ("CLAIM_MANY", "SETTLE_MANY"):
            script = store._scripts[name]
            store._scripts[name] = lambda *a, _s=script, _n=name, **k: calls.append(_n) or _s(*a, **k)
    claimed = store.claim_many([*keys, keys[0]], checks.T0, 60, f"{ns}w")
    assert [r is not None for r in claimed] == [True] * 8 + [False]
    assert store.settle_many([(ep, e, Status.DONE, checks.T0 + 1, None, None) for ep, e in keys]) == [True] * 8
    assert calls in (["begin", "begin"], ["CLAIM_MANY", "SETTLE_MANY"])
    assert store._claimer._thread is None and store._settler._thread is None  # the batchers never ran
