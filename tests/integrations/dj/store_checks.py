"""The Store contract and process checks on DjangoStore; shared by the SQLite (in-process) and PostgreSQL runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from hookinbox.events import EventRecord


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


def exercise_contract(store_cls: Any) -> list[str]:
    """Every test of the store contract suite (tests/stores/test_contract.py) and of the ordering contract
    (tests/stores/test_ordering.py) on ``store_cls``, each on emptied tables: for the PostgreSQL subprocess,
    where pytest does not run (in-process, pytest collects the same classes in test_django_contract.py)."""
    import inspect

    from tests.stores.test_contract import TestStoreContract
    from tests.stores.test_ordering import TestOrderingContract

    from hookinbox.django.models import InboxEvent, OrderKey

    def empty() -> None:
        InboxEvent.objects.all().delete()
        OrderKey.objects.all().delete()

    ran: list[str] = []
    for suite in (TestStoreContract(), TestOrderingContract()):
        for name, test in inspect.getmembers(suite, inspect.ismethod):
            if not name.startswith("test_"):
                continue
            empty()
            built: list[Any] = []

            def make(**overrides: Any) -> Any:
                built.append(store_cls("default", **overrides))
                return built[-1]

            fixtures = {"store": make, "make_store": lambda: make, "store_url": lambda: ("django://", {})}
            test(**{param: fixtures[param]() for param in inspect.signature(test).parameters})
            for store in built:
                store.close()
            ran.append(name)
    empty()
    return ran


def exercise_threads(store_cls: Any) -> None:
    """Of 6 threads (each with its own Django connection) recording, then claiming, one key, exactly one wins."""
    store = store_cls("default")
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
