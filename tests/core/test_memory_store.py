"""The memory store: atomic, TTL-bounded, size-bounded, never evicting unfinished events."""

from __future__ import annotations

import threading

import pytest

from hookinbox.errors import StoreFull
from hookinbox.events import EventRecord, Status
from hookinbox.stores import store_from_url
from hookinbox.stores.memory import MemoryStore
from tests.toolkit import Clock


def rec(i: object, endpoint: str = "ep", at: float = 1_000.0) -> EventRecord:
    return EventRecord(endpoint=endpoint, id=str(i), type="t", body=b"{}", headers={}, received_at=at)


def test_store_from_url_builds_a_memory_store() -> None:
    """memory:// names the in-memory store, which is not durable."""
    store = store_from_url("memory://", dedup_ttl=60)
    assert isinstance(store, MemoryStore)
    assert store.durable is False


def test_record_is_atomic_under_threads() -> None:
    """Of 50 threads recording one key at once, exactly one sees it as new."""
    store = MemoryStore()
    results: list[bool] = []
    barrier = threading.Barrier(50)

    def go() -> None:
        barrier.wait()
        results.append(store.record(rec("same")))

    threads = [threading.Thread(target=go) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_same_id_on_two_endpoints_is_two_events() -> None:
    """Ids are only unique per sender: one id on two endpoints is recorded twice."""
    store = MemoryStore()
    assert store.record(rec("e", "a")) and store.record(rec("e", "b"))


def test_finished_keys_expire_after_dedup_ttl() -> None:
    """A done event stays a duplicate until dedup_ttl has passed, then its id is new again."""
    clock = Clock(1_000.0)
    store = MemoryStore(dedup_ttl=100, clock=clock)
    assert store.record(rec(1))
    assert store.claim("ep", "1", clock.now, 10)
    store.complete("ep", "1", clock.now)
    clock.now += 99
    assert store.record(rec(1)) is False
    clock.now += 2
    assert store.record(rec(1)) is True


def test_unfinished_events_never_expire() -> None:
    """A pending event is a duplicate forever (it must not be lost by expiry)."""
    clock = Clock(1_000.0)
    store = MemoryStore(dedup_ttl=10, clock=clock)
    store.record(rec(1))
    clock.now += 1_000
    assert store.record(rec(1)) is False


def test_size_bound_evicts_oldest_finished_first() -> None:
    """At max_events, the oldest finished event is evicted to make room; unfinished ones stay."""
    store = MemoryStore(max_events=3)
    for i in range(3):
        store.record(rec(i))
    store.claim("ep", "1", 1_000, 10)
    store.complete("ep", "1", 1_000)
    assert store.record(rec(3))
    assert store.get("ep", "1") is None
    assert {r.id for r in store.list(limit=10)} == {"0", "2", "3"}


def test_full_of_unfinished_events_refuses_new_ones() -> None:
    """When every slot holds an unfinished event, record raises StoreFull (a 503), evicting nothing."""
    store = MemoryStore(max_events=2)
    store.record(rec(1))
    store.record(rec(2))
    with pytest.raises(StoreFull):
        store.record(rec(3))
    assert len(store) == 2


def test_claim_lease_and_recovery() -> None:
    """A claimed event cannot be claimed again until its lease expires; then it is due again."""
    clock = Clock(1_000.0)
    store = MemoryStore(clock=clock)
    store.record(rec(1))
    first = store.claim("ep", "1", clock.now, 30)
    assert first is not None and first.attempts == 1 and first.status is Status.PROCESSING
    assert store.claim("ep", "1", clock.now + 1, 30) is None
    assert store.due(clock.now + 1, 0, 10) == []
    assert store.due(clock.now + 31, 0, 10) == [("ep", "1")]
    again = store.claim("ep", "1", clock.now + 31, 30)
    assert again is not None and again.attempts == 2


def test_fail_then_retry_then_dead_then_replay() -> None:
    """failed waits for retry_at; dead is not claimable; replay makes it pending with fresh attempts."""
    store = MemoryStore()
    store.record(rec(1))
    store.claim("ep", "1", 1_000, 30)
    store.fail("ep", "1", 1_000, "boom", 1_050)
    assert store.claim("ep", "1", 1_049, 30) is None
    assert store.claim("ep", "1", 1_050, 30) is not None
    store.fail("ep", "1", 1_050, "boom again", None)
    got = store.get("ep", "1")
    assert got is not None and got.status is Status.DEAD and got.last_error == "boom again"
    assert store.claim("ep", "1", 9_999, 30) is None
    assert store.replay("ep", "1", 2_000)
    replayed = store.claim("ep", "1", 2_000, 30)
    assert replayed is not None and replayed.attempts == 1


def test_pending_events_are_due_only_after_recover_after() -> None:
    """A fresh pending event is left to the executor it was queued on; an old one is recovered."""
    store = MemoryStore()
    store.record(rec(1, at=1_000))
    assert store.due(1_010, 30, 10) == []
    assert store.due(1_031, 30, 10) == [("ep", "1")]


def test_purge_and_drop_bodies() -> None:
    """Retention drops finished bodies; purge deletes finished records; pending ones are untouched."""
    store = MemoryStore()
    store.record(rec(1, at=10))
    store.record(rec(2, at=10))
    store.claim("ep", "1", 10, 5)
    store.complete("ep", "1", 11)
    assert store.drop_bodies(100) == 1
    one = store.get("ep", "1")
    assert one is not None and one.body is None
    assert store.purge(100) == 1
    assert store.get("ep", "2") is not None
    assert store.stats() == {"ep": {"pending": 1}}
