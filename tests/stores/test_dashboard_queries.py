"""The queries behind the dashboard's pages, proved on every store: keyset listing with filters, counts,
the per-minute timeline, the oldest pending event, and discarding a dead event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookinbox.events import EventRecord, Status
from hookinbox.stores import Store
from hookinbox.stores._query import Inspectable, cursor

T0 = 1_700_000_000.0


def rec(event_id: str, endpoint: str = "shop", t: float = T0, type: str = "order.paid") -> EventRecord:
    return EventRecord(
        endpoint=endpoint, id=event_id, type=type, body=b'{"a": 1}', headers={"x": "y"}, received_at=t
    )  # fmt: skip


@pytest.fixture
def store(make_store: Any) -> Any:
    return make_store(max_events=300_000)


def walk(store: Any, page: int, **filters: Any) -> list[EventRecord]:
    """Every event through keyset pages of ``page``; fails on a page that repeats or goes back in time."""
    out: list[EventRecord] = []
    before = None
    while True:
        got = store.list(limit=page, before=before, **filters)
        assert len(got) <= page
        if out and got:
            assert got[0].received_at <= out[-1].received_at
        out.extend(got)
        if len(got) < page:
            return out
        before = cursor(got[-1])


def keys(records: list[EventRecord]) -> list[tuple[str, str]]:
    return [(r.endpoint, r.id) for r in records]


def newest_first(records: list[EventRecord], store_url: Any) -> list[tuple[str, str]]:
    """The expected order: (received_at, endpoint, id) descending; Redis breaks ties by its index member."""
    if store_url[0].startswith("redis"):
        return keys(sorted(records, key=lambda r: (r.received_at, f"{r.endpoint}:{r.id}"), reverse=True))
    return keys(sorted(records, key=lambda r: (r.received_at, r.endpoint, r.id), reverse=True))


def test_every_store_is_inspectable(store: Any) -> None:
    """Each built-in store has the dashboard's queries next to the Store protocol."""
    assert isinstance(store, Store) and isinstance(store, Inspectable)


def test_keyset_pages_with_ties(store: Any, store_url: Any) -> None:
    """Pages after a cursor continue exactly where the last one stopped, ties of received_at included."""
    records = [rec(f"e{i:02d}", endpoint=("a", "b")[i % 2], t=T0 + i // 4) for i in range(23)]
    for r in records:
        assert store.record(r)
    for page in (1, 4, 5, 50):
        got = walk(store, page)
        assert keys(got) == newest_first(records, store_url)
        assert all(r.body is None for r in got)
    assert store.list(limit=3, before=cursor(records[0])) == []  # nothing is older than the oldest


def test_filters_and_count(store: Any, store_url: Any) -> None:
    """endpoint, status, type, time range and id prefix filter the listing, also across pages; count agrees."""
    records = [
        rec(f"ord_{i}", endpoint=("shop", "billing")[i % 2], t=T0 + i, type=("order.paid", "invoice.sent")[i % 3 == 0])
        for i in range(30)
    ]
    records.append(rec("other_1", t=T0 + 100))
    for r in records:
        store.record(r)
    for i in (0, 1, 2):
        assert store.claim("shop" if i % 2 == 0 else "billing", f"ord_{i}", T0 + 50, 30) is not None
    store.complete("shop", "ord_0", T0 + 51)
    store.fail("billing", "ord_1", T0 + 51, "boom", None)
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"endpoint": "billing"}, lambda r: r.endpoint == "billing"),
        ({"status": Status.DEAD}, lambda r: r.id == "ord_1"),
        ({"status": Status.PENDING}, lambda r: r.id not in ("ord_0", "ord_1", "ord_2")),
        ({"type": "invoice.sent"}, lambda r: r.type == "invoice.sent"),
        ({"since": T0 + 10, "until": T0 + 20}, lambda r: T0 + 10 <= r.received_at < T0 + 20),
        ({"id_prefix": "ord_1"}, lambda r: r.id.startswith("ord_1")),
        ({"id_prefix": "ord_%"}, lambda r: False),  # a LIKE wildcard is a literal here
        ({"endpoint": "shop", "since": T0 + 5, "type": "order.paid"}, None),
    ]
    for filters, keep in cases:
        if keep is None:
            keep = lambda r, f=filters: r.endpoint == f["endpoint"] and r.received_at >= f["since"] and r.type == f["type"]  # noqa: E731
        expected = newest_first([r for r in records if keep(r)], store_url)
        assert keys(walk(store, 4, **filters)) == expected, filters
        assert store.count(**filters) == len(expected), filters
    assert store.count() == len(records)


def test_timeline_counts_per_minute(store: Any) -> None:
    """received per minute of receipt; handled and failed (failed or dead) per minute of their last change."""
    since = T0
    for i in range(6):
        store.record(rec(f"e{i}", t=since + 60 * i + 5))
    store.record(rec("before", t=since - 1))  # outside the window
    store.record(rec("other", endpoint="billing", t=since + 10))
    for i, outcome in ((0, "done"), (1, "retry"), (2, "dead")):
        store.claim("shop", f"e{i}", since + 200, 30)
        if outcome == "done":
            store.complete("shop", f"e{i}", since + 250)
        else:
            store.fail("shop", f"e{i}", since + 250, "boom", since + 900 if outcome == "retry" else None)
    t = store.timeline(since, since + 300, bucket=60.0)
    assert t == {"received": [2, 1, 1, 1, 1], "handled": [0, 0, 0, 0, 1], "failed": [0, 0, 0, 0, 2]}
    assert store.timeline(since, since + 300, bucket=60.0, endpoint="billing")["received"] == [1, 0, 0, 0, 0]
    assert store.timeline(since, since + 120, bucket=60.0)["received"] == [2, 1]


def test_oldest_pending(store: Any) -> None:
    """The oldest pending event per endpoint; claimed or finished events do not count."""
    assert store.oldest_pending() == {}
    store.record(rec("a1", t=T0 + 5))
    store.record(rec("a0", t=T0 + 1))
    store.record(rec("b0", endpoint="billing", t=T0 + 3))
    store.record(rec("c0", endpoint="crm", t=T0))
    store.claim("crm", "c0", T0 + 10, 30)
    assert store.oldest_pending() == {"shop": T0 + 1, "billing": T0 + 3}


def test_discard_dead(store: Any) -> None:
    """discard_dead deletes a dead event only; pending, done or unknown events are left alone."""
    for i in range(3):
        store.record(rec(f"e{i}"))
    store.claim("shop", "e0", T0, 30)
    store.fail("shop", "e0", T0, "boom", None)
    store.claim("shop", "e1", T0, 30)
    store.complete("shop", "e1", T0)
    assert store.discard_dead("shop", "e1") is False
    assert store.discard_dead("shop", "e2") is False
    assert store.discard_dead("shop", "nope") is False
    assert store.discard_dead("shop", "e0") is True
    assert store.get("shop", "e0") is None
    assert {r.id for r in store.list()} == {"e1", "e2"}
    assert store.stats() == {"shop": {"done": 1, "pending": 1}}


N = 100_000


def bulk_record(store: Any, records: list[EventRecord]) -> None:
    """Insert many events fast through the store's own batch path (or one executemany on SQL)."""
    kind = type(store).__name__
    if kind == "SQLStore":
        store._setup()
        with store.engine.begin() as conn:
            for i in range(0, len(records), 10_000):
                conn.execute(store.t.insert(), [store._row(r) for r in records[i : i + 10_000]])
    elif kind == "RedisStore":
        for i in range(0, len(records), 2_000):
            assert all(store._record_many(records[i : i + 2_000]))
    else:
        for r in records:
            assert store.record(r)


@pytest.mark.slow
def test_keyset_paging_over_100k_events(store: Any, store_url: Any) -> None:
    """100,000 events: keyset pages visit each exactly once, newest first, and a deep page is one query."""
    records = [rec(f"evt_{i:06d}", endpoint=("shop", "billing")[i % 2], t=T0 + i // 2) for i in range(N)]
    bulk_record(store, records)
    assert store.count() == N
    got = walk(store, 5_000)
    assert len(got) == N
    assert keys(got) == newest_first(records, store_url)
    # a page deep in the listing, from a cursor alone
    deep = store.list(limit=3, before=(T0 + 10, "shop", "evt_000020"))
    expected = newest_first([r for r in records if r.received_at <= T0 + 10], store_url)
    start = expected.index(("shop", "evt_000020")) + 1
    assert keys(deep) == expected[start : start + 3] == [("billing", "evt_000021"), ("shop", "evt_000018"), ("billing", "evt_000019")]
    # filtered paging over the same set: one endpoint, a time range
    part = walk(store, 2_000, endpoint="billing", since=T0 + 40_000, until=T0 + 45_000)
    assert len(part) == 5_000 and {r.endpoint for r in part} == {"billing"}
    assert json.dumps(keys(part[:1])) == json.dumps([["billing", "evt_089999"]])
