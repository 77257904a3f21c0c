"""Behaviour kept by the hot-path fixes found while benchmarking (memory store eviction, async detection)."""

from __future__ import annotations

import functools

import pytest

from hookinbox.drive import _ASYNC, is_async_callable
from hookinbox.errors import StoreFull
from hookinbox.events import EventRecord, Status
from hookinbox.stores.memory import MemoryStore


def _rec(i: int, now: float = 1000.0) -> EventRecord:
    return EventRecord("ep", f"e{i}", "t", b"{}", {}, now)


def _finish(store: MemoryStore, i: int, now: float = 1000.0) -> None:
    assert store.claim("ep", f"e{i}", now, 60) is not None
    store.complete("ep", f"e{i}", now)


def test_full_store_evicts_a_batch_of_the_oldest_finished_events() -> None:
    """When full, the oldest finished events go (1/64 of max_events at once) and newer ones still dedup."""
    store = MemoryStore(max_events=128, clock=lambda: 1000.0)
    for i in range(128):
        assert store.record(_rec(i))
        _finish(store, i)
    assert store.record(_rec(128))
    assert len(store) == 127
    assert store.get("ep", "e0") is None and store.get("ep", "e1") is None
    assert store.record(_rec(2)) is False, "the third oldest is still remembered"


def test_eviction_never_drops_unfinished_events() -> None:
    """Pending events survive eviction; a store full of them refuses with StoreFull."""
    store = MemoryStore(max_events=4, clock=lambda: 1000.0)
    for i in range(3):
        store.record(_rec(i))
    store.record(_rec(3))
    _finish(store, 3)
    assert store.record(_rec(4))
    assert store.get("ep", "e3") is None
    assert all(store.get("ep", f"e{i}") is not None for i in (0, 1, 2, 4))
    with pytest.raises(StoreFull):
        store.record(_rec(5))


def test_tiny_store_evicts_exactly_one() -> None:
    """With max_events below 64 the batch is one event, as before."""
    store = MemoryStore(max_events=3, clock=lambda: 1000.0)
    for i in range(3):
        store.record(_rec(i))
        _finish(store, i)
    store.record(_rec(3))
    assert [store.get("ep", f"e{i}") is None for i in range(4)] == [True, False, False, False]


def test_due_lists_unfinished_events_only_and_follows_replay() -> None:
    """due() returns pending/failed events past their time, never done ones, and replayed ones again."""
    store = MemoryStore(clock=lambda: 1000.0)
    for i in range(3):
        store.record(_rec(i, now=900.0))
    _finish(store, 0)
    store.claim("ep", "e1", 1000.0, 60)
    store.fail("ep", "e1", 1000.0, "boom", 1010.0)
    assert store.due(1000.0, 30.0, 10) == [("ep", "e2")]
    assert sorted(store.due(1011.0, 30.0, 10)) == [("ep", "e1"), ("ep", "e2")]
    assert store.replay("ep", "e0", 1000.0)
    assert ("ep", "e0") in store.due(1100.0, 30.0, 10)
    rec = store.get("ep", "e0")
    assert rec is not None and rec.status is Status.PENDING


def test_claim_returns_a_copy() -> None:
    """Changing the record claim() returns leaves the stored one as it was."""
    store = MemoryStore(clock=lambda: 1000.0)
    store.record(_rec(1))
    got = store.claim("ep", "e1", 1000.0, 60)
    assert got is not None and got.attempts == 1 and got.status is Status.PROCESSING
    got.handlers_done.append("x")
    got.attempts = 99
    again = store.get("ep", "e1")
    assert again is not None and again.handlers_done == [] and again.attempts == 1


class _AsyncCallable:
    async def __call__(self, event: object) -> None: ...


class _Store:
    def sync(self) -> None: ...

    async def coro(self) -> None: ...


async def _coro_fn(event: object) -> None: ...


def _sync_fn(event: object) -> None: ...


def test_async_detection_is_cached_and_still_right() -> None:
    """Functions, bound methods, async __call__ objects and partials are told apart, twice over."""
    store = _Store()
    cases = [
        (_coro_fn, True),
        (_sync_fn, False),
        (store.sync, False),
        (store.coro, True),
        (_AsyncCallable(), True),
        (functools.partial(_coro_fn), True),
        (functools.partial(_sync_fn), False),
    ]
    for _ in range(2):
        assert [is_async_callable(fn) for fn, _ in cases] == [want for _, want in cases]
    assert _ASYNC[_Store.coro] is True and _ASYNC[_Store.sync] is False


def test_async_detection_cache_is_bounded() -> None:
    """Functions made on the fly do not grow the cache without limit."""
    for i in range(5000):
        ns: dict[str, object] = {}
        exec(f"def f{i}(e): pass", ns)
        is_async_callable(ns[f"f{i}"])  # type: ignore[arg-type]
    assert len(_ASYNC) <= 4096


def test_finished_events_cost_the_garbage_collector_nothing() -> None:
    """A store full of finished events adds (almost) no objects for the collector to walk.

    Kept as objects, 100 000 finished events made every full collection walk
    them all: about a fifth of the server's CPU under a flood (docs/benchmarks.md).
    """
    import gc

    store = MemoryStore(max_events=10_000, clock=lambda: 1000.0)
    gc.collect()
    before = len(gc.get_objects())
    for i in range(5000):
        rec = EventRecord("ep", f"e{i}", "t", b'{"id": 1}', {"content-type": "application/json", "x-n": str(i)}, 1000.0)
        store.record(rec)
        _finish(store, i)
    gc.collect()
    grown = len(gc.get_objects()) - before
    assert grown < 500, f"{grown} objects tracked for 5000 finished events (as objects: about 10 000)"
    assert len(store) == 5000


def test_a_frozen_event_keeps_everything_it_had() -> None:
    """Headers, handlers done, errors, attempts and times survive freezing; replay and retention still work."""
    store = MemoryStore(clock=lambda: 1000.0)
    store.record(EventRecord("ep", "a", "order.created", b"{}", {"x-a": "1", "x-b": "2"}, 900.0, "2025-01-01"))
    store.claim("ep", "a", 1000.0, 60)
    store.handler_done("ep", "a", "first")
    store.fail("ep", "a", 1001.0, "boom", None)  # dead at once
    got = store.get("ep", "a")
    assert got is not None
    assert (got.status, got.attempts, got.last_error, got.handlers_done) == (Status.DEAD, 1, "boom", ["first"])
    assert (got.headers, got.received_at, got.updated_at, got.timestamp) == (
        {"x-a": "1", "x-b": "2"},
        900.0,
        1001.0,
        "2025-01-01",
    )
    got.headers["x-a"] = "changed"
    got.handlers_done.append("mutated")
    again = store.get("ep", "a")
    assert again is not None and again.headers["x-a"] == "1" and again.handlers_done == ["first"]
    assert [r.id for r in store.list(status=Status.DEAD)] == ["a"] and store.stats() == {"ep": {"dead": 1}}
    assert store.drop_bodies(950.0) == 1 and store.get("ep", "a").body is None  # type: ignore[union-attr]
    assert store.replay("ep", "a", 1002.0)
    claimed = store.claim("ep", "a", 1003.0, 60)
    assert claimed is not None and claimed.handlers_done == ["first"] and claimed.attempts == 1
    store.complete("ep", "a", 1004.0)
    assert store.get("ep", "a").status is Status.DONE  # type: ignore[union-attr]
    assert store.record(EventRecord("ep", "a", "t", b"{}", {}, 1005.0)) is False, "still a duplicate"
    assert store.purge(1000.0) == 1 and store.get("ep", "a") is None
