"""The Store protocol, exercised on DjangoStore; shared by the SQLite (in-process) and PostgreSQL runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from hookinbox.events import EventRecord, Status


def rec(event_id: str, t: float = 100.0, endpoint: str = "shop") -> EventRecord:
    return EventRecord(
        endpoint=endpoint,
        id=event_id,
        type="order.created",
        body=b'{"id": "x"}',
        headers={"h": "v"},
        received_at=t,
        timestamp="2024-01-15T10:30:00Z",
    )


def in_threads(n: int, fn: Callable[[], Any]) -> list[Any]:
    from django.db import connection

    out: list[Any] = []
    barrier = threading.Barrier(n)

    def run() -> None:
        try:
            barrier.wait(5)
            out.append(fn())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return out


def exercise_store(store_cls: Any) -> None:
    store = store_cls("default")
    assert store.durable and store.blocking
    # record: new, then duplicate; the body and headers come back
    assert store.record(rec("a")) is True
    assert store.record(rec("a")) is False
    got = store.get("shop", "a")
    assert got is not None and got.body == b'{"id": "x"}' and got.headers == {"h": "v"} and got.status is Status.PENDING
    # claim: one winner until the lease expires
    claimed = store.claim("shop", "a", 200.0, 30.0)
    assert claimed is not None and (claimed.status, claimed.attempts, claimed.lease_until) == (
        Status.PROCESSING,
        1,
        230.0,
    )
    assert store.claim("shop", "a", 210.0, 30.0) is None
    assert store.due(220.0, 0.0, 10) == []
    assert store.due(231.0, 0.0, 10) == [("shop", "a")]
    store.handler_done("shop", "a", "h1")
    store.handler_done("shop", "a", "h1")
    # fail without retry -> dead; listed without its body
    store.fail("shop", "a", 240.0, "RuntimeError: boom", None)
    dead = store.list(status=Status.DEAD)
    assert [(r.id, r.body, r.last_error, r.handlers_done) for r in dead] == [("a", None, "RuntimeError: boom", ["h1"])]
    # replay keeps the handlers that succeeded; a pending event cannot be replayed
    assert store.replay("shop", "a", 250.0) is True
    again = store.get("shop", "a")
    assert again is not None and (again.status, again.attempts, again.handlers_done) == (Status.PENDING, 0, ["h1"])
    assert store.replay("shop", "a", 251.0) is False
    assert store.claim("shop", "a", 260.0, 30.0) is not None
    store.fail("shop", "a", 261.0, "later", 300.0)
    assert store.due(299.0, 0.0, 10) == [] and store.due(300.0, 0.0, 10) == [("shop", "a")]
    assert store.claim("shop", "a", 300.0, 30.0) is not None
    store.complete("shop", "a", 301.0)
    assert store.stats() == {"shop": {"done": 1}}
    assert store.replay("shop", "a", 302.0) is True and store.get("shop", "a").handlers_done == []  # type: ignore[union-attr]
    # pending events are due only after recover_after
    assert store.record(rec("b", t=1000.0)) is True
    assert ("shop", "b") not in store.due(1010.0, 30.0, 10) and ("shop", "b") in store.due(1031.0, 30.0, 10)
    # find spans endpoints; discard forgets; dedup_ttl lets a long-finished key in again
    assert store.record(rec("b", endpoint="other")) is True
    assert sorted(r.endpoint for r in store.find("b")) == ["other", "shop"]
    store.discard("shop", "b")
    assert store.get("shop", "b") is None
    short = store_cls("default", dedup_ttl=10.0, clock=lambda: 500.0)
    assert short.claim("other", "b", 400.0, 5.0) is not None
    short.complete("other", "b", 400.0)
    assert short.record(rec("b", t=500.0, endpoint="other")) is True
    # retention
    assert short.claim("other", "b", 500.0, 5.0) is not None
    short.complete("other", "b", 501.0)
    assert store.claim("shop", "a", 502.0, 5.0) is not None
    store.complete("shop", "a", 503.0)
    assert store.drop_bodies(600.0) == 2 and store.get("other", "b").body is None  # type: ignore[union-attr]
    assert store.purge(600.0) == 2 and store.stats() == {}
    # concurrency: of 6 threads recording (then claiming) one key, exactly one wins
    assert sorted(in_threads(6, lambda: store.record(rec("c")))) == [False] * 5 + [True]
    won = in_threads(6, lambda: store.claim("shop", "c", 700.0, 30.0))
    assert len([w for w in won if w is not None]) == 1


def exercise_processes(store_cls: Any) -> None:
    """The owner/history, batch and process-registry checks every store passes (tests/stores/process_checks.py),
    on DjangoStore; two sweeper threads with their own store instance and their own connection."""
    import uuid

    from django.db import connection
    from tests.stores import process_checks as checks

    ns = "dj" + uuid.uuid4().hex[:8] + "-"

    def make() -> Any:
        return store_cls("default")

    for check in checks.ALL_CHECKS:
        check(make, ns + check.__name__[6:12] + "-")
    checks.check_concurrent_release(
        make, ns + "conc-", lambda calls: checks.run_threads(calls, lambda: connection.close())
    )
