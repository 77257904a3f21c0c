"""The Store protocol, proved the same way on every backend (memory, SQLite, PostgreSQL, MariaDB, Redis)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from hookinbox.events import EventRecord, Status
from hookinbox.stores import Store
from tests.toolkit import wait_for

T0 = 1_000_000.0


def rec(
    event_id: str, endpoint: str = "shop", t: float = T0, body: bytes | None = b'{"a": 1}', type: str = "order.paid"
) -> EventRecord:
    return EventRecord(
        endpoint=endpoint, id=event_id, type=type, body=body, headers={"content-type": "application/json"},
        received_at=t, timestamp="2024-01-01T00:00:00Z",
    )  # fmt: skip


@pytest.fixture
def store(make_store: Any) -> Store:
    s: Store = make_store()
    return s


class TestStoreContract:
    def test_is_a_store(self, store: Store, store_url: Any) -> None:
        """Every backend satisfies the protocol; all but memory are durable and blocking."""
        assert isinstance(store, Store)
        durable = not store_url[0].startswith("memory")
        assert store.durable is durable and store.blocking is durable

    def test_record_once(self, store: Store) -> None:
        """The first record of a key is new and kept pending with body and headers; the second is a duplicate."""
        assert store.record(rec("e1")) is True
        assert store.record(rec("e1", body=b"other")) is False
        got = store.get("shop", "e1")
        assert got is not None
        assert (got.status, got.body, got.headers, got.attempts) == (
            Status.PENDING,
            b'{"a": 1}',
            {"content-type": "application/json"},
            0,
        )
        assert (got.type, got.received_at, got.timestamp, got.handlers_done) == (
            "order.paid",
            T0,
            "2024-01-01T00:00:00Z",
            [],
        )
        assert store.get("shop", "nope") is None

    def test_same_id_other_endpoint_is_new(self, store: Store) -> None:
        """Ids are unique per endpoint only; find returns the event of every endpoint."""
        assert store.record(rec("e1", endpoint="a:b"))
        assert store.record(rec("e1", endpoint="orders"))
        assert store.record(rec("e1x", endpoint="orders"))
        assert sorted(r.endpoint for r in store.find("e1")) == ["a:b", "orders"]
        assert store.find("zzz") == []

    def test_record_without_body(self, store: Store) -> None:
        """store_payload = false: the key is kept, the body is None."""
        assert store.record(rec("e1", body=None))
        got = store.get("shop", "e1")
        assert got is not None and got.body is None

    def test_arecord(self, store: Store) -> None:
        """arecord de-duplicates like record."""

        async def main() -> list[bool]:
            # the sync call off the loop, as the library makes it: some stores (Django) refuse to block a loop
            out = [await store.arecord(rec("e1")), await store.arecord(rec("e1"))]
            out.append(await asyncio.to_thread(store.record, rec("e1")))
            aclose = getattr(store, "aclose", None)
            if aclose is not None:
                await aclose()
            return out

        assert asyncio.run(main()) == [True, False, False]

    def test_claim_lease(self, store: Store) -> None:
        """Claiming takes a lease; nobody else claims it until the lease expires; attempts count claims."""
        store.record(rec("e1"))
        got = store.claim("shop", "e1", T0 + 1, 30)
        assert got is not None and got.body == b'{"a": 1}'
        assert (got.status, got.attempts, got.lease_until) == (Status.PROCESSING, 1, T0 + 31)
        assert store.claim("shop", "e1", T0 + 2, 30) is None
        again = store.claim("shop", "e1", T0 + 31, 30)
        assert again is not None and again.attempts == 2
        assert store.claim("shop", "missing", T0, 30) is None

    def test_complete(self, store: Store) -> None:
        """A completed event is done, cannot be claimed, and is not due."""
        store.record(rec("e1"))
        store.claim("shop", "e1", T0, 30)
        store.complete("shop", "e1", T0 + 1)
        got = store.get("shop", "e1")
        assert got is not None and (got.status, got.lease_until) == (Status.DONE, None)
        assert store.claim("shop", "e1", T0 + 100, 30) is None
        assert store.due(T0 + 100, 0, 10) == []

    def test_fail_then_retry_then_dead(self, store: Store) -> None:
        """A failure is retried at retry_at; a failure without retry_at is dead."""
        store.record(rec("e1"))
        store.claim("shop", "e1", T0, 30)
        store.fail("shop", "e1", T0 + 1, "boom", T0 + 10)
        got = store.get("shop", "e1")
        assert got is not None and (got.status, got.next_attempt_at, got.last_error) == (Status.FAILED, T0 + 10, "boom")
        assert store.claim("shop", "e1", T0 + 5, 30) is None
        assert store.due(T0 + 5, 0, 10) == []
        assert store.due(T0 + 10, 0, 10) == [("shop", "e1")]
        assert store.claim("shop", "e1", T0 + 10, 30) is not None
        store.fail("shop", "e1", T0 + 11, "boom again", None)
        got = store.get("shop", "e1")
        assert got is not None and (got.status, got.attempts, got.last_error) == (Status.DEAD, 2, "boom again")
        assert store.claim("shop", "e1", T0 + 1000, 30) is None

    def test_settle_needs_processing(self, store: Store) -> None:
        """complete/fail only change an event that is being processed."""
        store.record(rec("e1"))
        store.complete("shop", "e1", T0)
        store.fail("shop", "e1", T0, "x", None)
        got = store.get("shop", "e1")
        assert got is not None and got.status is Status.PENDING

    def test_due(self, store: Store) -> None:
        """due: pending older than recover_after, failed and due, processing with an expired lease."""
        store.record(rec("new", t=T0 + 50))
        store.record(rec("old", t=T0))
        store.record(rec("busy", t=T0))
        store.claim("shop", "busy", T0, 20)
        assert store.due(T0 + 10, 5, 10) == [("shop", "old")]
        assert set(store.due(T0 + 60, 30, 10)) == {("shop", "old"), ("shop", "busy")}
        assert set(store.due(T0 + 60, 0, 10)) == {("shop", "old"), ("shop", "new"), ("shop", "busy")}
        assert len(store.due(T0 + 60, 0, 2)) == 2

    def test_handlers_done_and_replay(self, store: Store) -> None:
        """handler_done is kept; replaying a dead event keeps it, replaying a done one clears it."""
        store.record(rec("e1"))
        store.claim("shop", "e1", T0, 30)
        store.handler_done("shop", "e1", "h1")
        store.handler_done("shop", "e1", "h1")
        store.fail("shop", "e1", T0 + 1, "h2 failed", None)
        assert store.replay("shop", "e1", T0 + 5) is True
        got = store.get("shop", "e1")
        assert got is not None and (got.status, got.attempts, got.handlers_done) == (Status.PENDING, 0, ["h1"])
        assert store.replay("shop", "e1", T0 + 6) is False  # pending: already waiting
        store.claim("shop", "e1", T0 + 6, 30)
        assert store.replay("shop", "e1", T0 + 7) is False  # in flight
        store.complete("shop", "e1", T0 + 7)
        assert store.replay("shop", "e1", T0 + 8) is True
        got = store.get("shop", "e1")
        assert got is not None and got.handlers_done == [] and got.status is Status.PENDING
        assert store.replay("shop", "missing", T0) is False

    def test_discard(self, store: Store) -> None:
        """A discarded event is forgotten: recording it again is new."""
        store.record(rec("e1"))
        store.discard("shop", "e1")
        assert store.get("shop", "e1") is None
        assert store.record(rec("e1")) is True

    def test_list_stats(self, store: Store) -> None:
        """list is newest first, filtered, without bodies; stats counts per endpoint and status."""
        for i in range(3):
            store.record(rec(f"e{i}", t=T0 + i))
        store.record(rec("o1", endpoint="orders", t=T0 + 10, type="x"))
        store.claim("shop", "e0", T0, 30)
        store.complete("shop", "e0", T0)
        listed = store.list()
        assert [r.id for r in listed] == ["o1", "e2", "e1", "e0"]
        assert all(r.body is None for r in listed)
        assert [r.id for r in store.list(endpoint="shop", limit=2)] == ["e2", "e1"]
        assert [r.id for r in store.list(status=Status.DONE)] == ["e0"]
        assert [r.id for r in store.list(type="x")] == ["o1"]
        assert store.stats() == {"shop": {"pending": 2, "done": 1}, "orders": {"pending": 1}}

    def test_retention(self, store: Store) -> None:
        """drop_bodies forgets finished bodies only; purge deletes finished events before the cut-off only."""
        store.record(rec("done", t=T0))
        store.record(rec("dead", t=T0))
        store.record(rec("pending", t=T0))
        store.record(rec("late", t=T0 + 100))
        for key, ok in (("done", True), ("dead", False), ("late", True)):
            store.claim("shop", key, T0, 30)
            store.complete("shop", key, T0) if ok else store.fail("shop", key, T0, "x", None)
        assert store.drop_bodies(T0 + 50) == 2
        bodies = {k: store.get("shop", k).body for k in ("done", "dead", "pending", "late")}  # type: ignore[union-attr]
        assert bodies == {"done": None, "dead": None, "pending": b'{"a": 1}', "late": b'{"a": 1}'}
        assert store.purge(T0 + 50, (Status.DONE,)) == 1
        assert store.get("shop", "done") is None and store.get("shop", "dead") is not None
        assert store.purge(T0 + 50) == 1
        assert {r.id for r in store.list()} == {"pending", "late"}

    def test_dedup_window(self, make_store: Any) -> None:
        """A finished event older than dedup_ttl is new again; an unfinished one never is."""
        store = make_store(dedup_ttl=0.2)
        now = time.time()
        store.record(rec("fin", t=now))
        store.record(rec("open", t=now))
        store.claim("shop", "fin", now, 30)
        store.complete("shop", "fin", now)
        wait_for(lambda: store.record(rec("fin", t=time.time())), 10, "the dedup window to end", interval=0.05)
        got = store.get("shop", "fin")
        assert got is not None and (got.status, got.attempts) == (Status.PENDING, 0)
        assert store.record(rec("open", t=time.time())) is False
