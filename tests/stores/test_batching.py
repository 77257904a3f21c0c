"""The durable stores' batches against the real servers: one write per batch, per-item results.

Records, claims and settlements of Redis (one script call per batch) and of the SQL stores (one
transaction per batch) for claims and settlements; the Redis-only cases are marked so.

A :class:`Gate` holds the store's writer thread inside its first batch (a
"plug" item) so that the calls under test queue up and are written together
in the next one; the write itself is the store's own, against Redis.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest

from hookinbox.errors import ConfigurationError, StoreUnavailable
from hookinbox.events import EventRecord, Status
from hookinbox.stores import store_from_url
from hookinbox.stores._claims import PROCESSING_TIMEOUT
from hookinbox.stores._groupcommit import Batcher
from hookinbox.stores.redis import RedisStore
from tests.stores._helpers import TcpProxy, via

REDIS = pytest.mark.parametrize("store_url", ["redis"], indirect=True)
DURABLE = pytest.mark.parametrize("store_url", ["redis", "sqlite", "postgresql", "mariadb"], indirect=True)

NOW = 1_700_000_000.0


class Gate:
    """Wraps a batcher's write: notes each batch's size and, while held, keeps the writer inside it."""

    def __init__(self, batcher: Batcher[Any, Any]) -> None:
        self.batcher = batcher
        self.real = batcher._write
        self.sizes: list[int] = []
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()
        batcher._write = self  # type: ignore[assignment]

    def __call__(self, items: Sequence[Any]) -> Sequence[Any]:
        self.sizes.append(len(items))
        self.entered.set()
        assert self.open.wait(10)
        return self.real(items)

    async def one_batch(
        self, plug: Callable[[], Awaitable[Any]], calls: list[Callable[[], Awaitable[Any]]]
    ) -> list[Any]:
        """Run ``calls`` concurrently so that they are queued while the writer is busy with ``plug``."""
        self.open.clear()
        self.entered.clear()
        plugged = asyncio.ensure_future(plug())
        await asyncio.to_thread(self.entered.wait, 5)
        before = len(self.sizes)
        tasks = [asyncio.ensure_future(call()) for call in calls]
        await asyncio.sleep(0)  # every task runs up to its queued call
        assert len(self.batcher._items) == len(calls)
        self.open.set()
        await plugged
        out = await asyncio.gather(*tasks, return_exceptions=True)
        assert sum(self.sizes[before:]) == len(calls)
        return out


def rec(
    event_id: str,
    endpoint: str = "shop",
    *,
    body: bytes | None = b'{"id": 1}',
    headers: dict[str, str] | None = None,
    timestamp: str | None = None,
    received_at: float = NOW,
) -> EventRecord:
    headers = {"x-id": event_id} if headers is None else headers
    return EventRecord(endpoint, event_id, "order.created", body, headers, received_at, timestamp=timestamp)


@pytest.fixture
def store(make_store: Callable[..., Any]) -> Any:
    return make_store()


@REDIS
def test_concurrent_duplicates_of_one_id_are_accepted_exactly_once(store: Any) -> None:
    gate = Gate(store._recorder)

    async def main() -> list[Any]:
        dupes = [lambda: store.arecord(rec("evt_dup")) for _ in range(64)]
        return await gate.one_batch(lambda: store.arecord(rec("plug")), dupes)

    results = asyncio.run(main())
    assert results.count(True) == 1 and results.count(False) == 63
    assert gate.sizes == [1, 64]  # really one batch, one script call
    # and from threads and tasks at once, without a gate: still exactly one
    with ThreadPoolExecutor(16) as pool:
        threads = [pool.submit(store.record, rec("evt_race")) for _ in range(32)]

        async def tasks() -> list[bool]:
            return await asyncio.gather(*(store.arecord(rec("evt_race")) for _ in range(32)))

        from_tasks = asyncio.run(tasks())
        outcomes = [f.result() for f in threads] + from_tasks
    assert outcomes.count(True) == 1
    assert [r.id for r in store.list(limit=10)].count("evt_race") == 1


@REDIS
def test_a_mixed_batch_gives_each_item_its_own_result(store: Any) -> None:
    assert store.record(rec("old_dup"))
    assert store.record(rec("done_expired"))
    assert store.record(rec("pending_expired"))
    assert store.record(rec("done_dup"))
    for finished in ("done_expired", "done_dup"):
        assert store.claim("shop", finished, NOW, 60) is not None
        store.complete("shop", finished, NOW + 1)
    store.client.delete(store.prefix + "dd:shop:done_expired", store.prefix + "dd:shop:pending_expired")
    odd = rec("odd:id-1", endpoint="we:ird%ep", body=b"5:-\x00\xff:", headers={"h": "é"}, timestamp="")
    bare = rec("bare", body=None, timestamp=None, received_at=NOW + 5)
    batch = [
        rec("new1"),
        rec("old_dup"),  # recorded before: duplicate
        rec("done_dup"),  # finished, but its id is remembered for dedup_ttl: duplicate
        rec("new2"),
        rec("new1"),  # twice in this batch: the first one wins
        rec("done_expired"),  # finished and its dedup key expired: recorded afresh
        rec("pending_expired"),  # unfinished, dedup key expired: never overwritten
        odd,
        bare,
    ]
    gate = Gate(store._recorder)

    async def main() -> list[Any]:
        return await gate.one_batch(lambda: store.arecord(rec("plug")), [lambda r=r: store.arecord(r) for r in batch])

    assert asyncio.run(main()) == [True, False, False, True, False, True, False, True, True]
    assert gate.sizes == [1, len(batch)]
    fresh = store.get("shop", "done_expired")
    assert fresh is not None and fresh.status is Status.PENDING and fresh.attempts == 0
    got = store.get("we:ird%ep", "odd:id-1")
    assert got is not None
    assert (got.body, got.headers, got.timestamp, got.status) == (odd.body, odd.headers, "", Status.PENDING)
    got = store.get("shop", "bare")
    assert got is not None and got.body is None and got.timestamp is None and got.received_at == NOW + 5
    assert got.handlers_done == [] and got.updated_at == NOW + 5
    due = set(store.due(NOW + 100, 0, 100))
    assert {("shop", "new1"), ("shop", "new2"), ("we:ird%ep", "odd:id-1"), ("shop", "bare")} <= due


@DURABLE
def test_claims_and_settlements_of_many_events_run_in_batches(store: Any) -> None:
    ids = [f"e{i}" for i in range(30)]
    for i in [*ids, "not_due"]:
        assert store.record(rec(i))
    assert store.claim("shop", "not_due", NOW, 60) is not None
    store.fail("shop", "not_due", NOW, "later", NOW + 1000)
    claims, settles = Gate(store._claimer), Gate(store._settler)
    t = NOW + 10

    async def main() -> tuple[list[Any], list[Any]]:
        claimed = await claims.one_batch(
            lambda: store.aclaim("shop", "nope", t, 60),
            [lambda i=i: store.aclaim("shop", i, t, 60) for i in [*ids, "e0", "missing", "not_due"]],
        )
        work = [lambda i=i: store.acomplete("shop", i, t + 1) for i in ids[:10]]
        work += [lambda i=i: store.afail("shop", i, t + 1, f"boom {i}", t + 50) for i in ids[10:20]]
        work += [lambda i=i: store.afail("shop", i, t + 1, f"dead {i}", None) for i in ids[20:]]
        work += [lambda: store.acomplete("shop", "not_due", t + 1)]  # not processing: unchanged
        settled = await settles.one_batch(lambda: store.acomplete("shop", "nope", t), work)
        return claimed, settled

    claimed, settled = asyncio.run(main())
    assert claims.sizes[:2] == [1, 33] and settles.sizes == [1, 31]
    assert [c.id if c else None for c in claimed[:30]] == ids
    assert all(c.status is Status.PROCESSING and c.attempts == 1 and c.lease_until == t + 60 for c in claimed[:30])
    assert claimed[0].body == b'{"id": 1}' and claimed[0].headers == {"x-id": "e0"}
    assert claimed[30:] == [None, None, None]  # e0 again in the same batch, no such event, not due yet
    assert settled == [None] * 31
    for i in ids[:10]:
        r = store.get("shop", i)
        assert r is not None and r.status is Status.DONE and r.lease_until is None and r.last_error is None
    for i in ids[10:20]:
        r = store.get("shop", i)
        assert r is not None and r.status is Status.FAILED and r.next_attempt_at == t + 50
        assert r.last_error == f"boom {i}" and r.lease_until is None
    for i in ids[20:]:
        r = store.get("shop", i)
        assert r is not None and r.status is Status.DEAD and r.next_attempt_at is None
    unchanged = store.get("shop", "not_due")
    assert unchanged is not None and unchanged.status is Status.FAILED and unchanged.next_attempt_at == NOW + 1000
    assert set(store.due(t + 60, 10_000, 100)) == {("shop", i) for i in ids[10:20]}  # only the due retries

    async def again() -> list[Any]:
        return await claims.one_batch(
            lambda: store.aclaim("shop", "nope", t, 60),
            [lambda i=i: store.aclaim("shop", i, t + 60, 60) for i in ids[8:14]],  # done, done, due, ...
        )

    reclaimed = asyncio.run(again())
    assert [r.id if r else None for r in reclaimed] == [None, None, "e10", "e11", "e12", "e13"]
    assert all(r.attempts == 2 for r in reclaimed if r)


@DURABLE
def test_an_expired_lease_is_claimed_again_through_the_batch(store: Any) -> None:
    assert store.record(rec("lease"))
    assert store.claim("shop", "lease", NOW, 30) is not None
    assert store.claim("shop", "lease", NOW + 29, 30) is None  # lease still held
    again = store.claim("shop", "lease", NOW + 30, 30)
    assert again is not None and again.attempts == 2 and again.lease_until == NOW + 60
    assert store.due(NOW + 59, 10_000, 10) == [] and store.due(NOW + 60, 10_000, 10) == [("shop", "lease")]


@DURABLE
def test_more_than_max_batch_is_split(make_store: Callable[..., Any]) -> None:
    store = make_store(max_batch=7)
    records, claims = Gate(store._recorder), Gate(store._claimer)

    async def main() -> tuple[list[Any], list[Any]]:
        recorded = await records.one_batch(
            lambda: store.arecord(rec("plug")), [lambda i=i: store.arecord(rec(f"m{i}")) for i in range(30)]
        )
        claimed = await claims.one_batch(
            lambda: store.aclaim("shop", "nope", NOW, 60),
            [lambda i=i: store.aclaim("shop", f"m{i}", NOW, 60) for i in range(30)],
        )
        return recorded, claimed

    recorded, claimed = asyncio.run(main())
    assert recorded == [True] * 30
    assert [c.id for c in claimed] == [f"m{i}" for i in range(30)]
    assert records.sizes == [1, 7, 7, 7, 7, 2] and claims.sizes == [1, 7, 7, 7, 7, 2]


@REDIS
def test_options_and_a_slow_server_past_request_timeout(store_url: tuple[str, dict[str, Any]]) -> None:
    url, options = store_url
    with pytest.raises(ConfigurationError, match="max_batches"):
        store_from_url(url, **options, max_batches=3)
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 0)
    proxy.start()
    store = store_from_url(via(url, proxy.port), **options, request_timeout=0.3, max_batch=5)
    try:
        assert isinstance(store, RedisStore) and store._recorder.timeout == 0.3 and store._claimer.max_batch == 5
        # claims and settlements have no sender waiting: they wait longer than a delivery's record
        assert store._claimer.timeout == store._settler.timeout == PROCESSING_TIMEOUT
        assert store.record(rec("fast"))
        proxy.hold()
        with pytest.raises(StoreUnavailable, match="in time"):
            store.record(rec("slow"))
        proxy.resume()
        assert store.record(rec("after")) is True
    finally:
        proxy.resume()
        store.close()
        proxy.stop()


@DURABLE
def test_a_poison_record_fails_alone_and_the_valid_ones_of_its_batch_are_kept(store: Any) -> None:
    """Values a store cannot hold (a lone surrogate; on SQL a NUL or an over-long id), batched with valid
    records: only the poison fails (503), every valid record of the same batch is recorded."""
    poison = [rec("bad\ud800")]
    if not isinstance(store, RedisStore):
        poison.append(rec("x" * 300))
    if getattr(store, "dialect", None) == "postgresql":
        poison.append(rec("nul\x00id"))
    valid = [rec(f"ok{i}") for i in range(20)]
    batch = [*valid[:10], *poison, *valid[10:]]
    gate = Gate(store._recorder)

    async def main() -> list[Any]:
        gate.open.clear()
        plugged = asyncio.ensure_future(store.arecord(rec("plug")))
        await asyncio.to_thread(gate.entered.wait, 5)
        tasks = [asyncio.ensure_future(store.arecord(r)) for r in batch]
        await asyncio.sleep(0)
        assert len(store._recorder._items) == len(batch)  # all queued behind the plug: one batch
        gate.open.set()
        await plugged
        return await asyncio.gather(*tasks, return_exceptions=True)

    out = asyncio.run(main())
    results = dict(zip([r.id for r in batch], out, strict=True))
    assert all(results[r.id] is True for r in valid), out
    if isinstance(store, RedisStore) or store.dialect != "sqlite":
        assert all(isinstance(results[r.id], StoreUnavailable) for r in poison), out
    else:  # SQLite keeps any length and NUL; only the lone surrogate cannot be encoded
        assert isinstance(results["bad\ud800"], StoreUnavailable), out
    assert gate.sizes[1] == len(batch)  # first as one batch, then item by item
    assert all(store.get("shop", r.id) is not None for r in valid)
