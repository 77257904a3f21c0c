"""What ordering by resource costs the Redis store beyond the contract (tests/stores/test_ordering.py):
its per-key pending set must sort exactly like ``(order_seq, received_at, id)`` and stay right on every
transition, and ``due`` must scan past a backlog of held-back events bigger than one page of its index."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hookinbox.events import EventRecord, Status
from hookinbox.stores.redis import RedisStore

T0 = 1_000_000.0
LEASE = 60.0


def orec(event_id: str, seq: float | None = 1.0, t: float = T0, key: str | None = "obj:1%") -> EventRecord:
    return EventRecord(
        endpoint="sh:op", id=event_id, type="thing.updated", body=b"{}", headers={}, received_at=t,
        order_key=key if seq is not None else None, order_seq=seq,
    )  # fmt: skip


@pytest.fixture
def store(redis_url: str, namespace: str) -> Iterator[RedisStore]:
    s = RedisStore(redis_url, prefix=f"{namespace}:")
    yield s
    s.drop()
    s.close()


def claimable(store: RedisStore, ids: list[str], now: float) -> list[str]:
    """The ids claim_ordered takes now (each settled at once, not advancing), in turn."""
    out = []
    for _ in ids:
        took = next((i for i in ids if i not in out and store.claim_ordered("sh:op", i, now, LEASE)), None)
        assert took is not None, out
        store.settle_ordered(("sh:op", took, Status.DONE, now, None, None), False)
        out.append(took)
    return out


def test_order_is_exact(store: RedisStore) -> None:
    """received_at one ulp apart, negative and zero times, ids compared byte by byte (not by locale)."""
    events = [
        ("b", 2.0, T0),
        ("a", 2.0, T0 + 2.0**-32),  # 1e6 + one ulp: later, though it prints like T0 at 6 decimals
        ("Z", 1.0, 5.0),
        ("c", 1.0, 5.0),  # "Z" (0x5a) < "c" (0x63); a locale's order may put them the other way
        ("n", 1.0, -3.5),
        ("m", 1.0, -0.0),
        ("k", 1.0, -7.25),
    ]
    for i, seq, t in events:
        assert store.record(orec(i, seq, t))
    assert claimable(store, [i for i, _, _ in events], T0 + 10) == ["k", "n", "m", "Z", "c", "b", "a"]


def test_pending_set_follows_every_transition(store: RedisStore) -> None:
    """Plain claims take an event out (and hold the key); replay puts it back; discard and purge remove it."""
    for n in range(4):
        assert store.record(orec(f"e{n}", float(n)))
    key = f"{store.prefix}oq:sh%3Aop:obj:1%"
    assert store.client.zcard(key) == 4
    assert store.claim_many([("sh:op", "e0")], T0, LEASE)[0] is not None
    assert store.claim_ordered("sh:op", "e1", T0 + 1, LEASE) is None  # e0 holds the key
    store.complete("sh:op", "e0", T0 + 2)
    store.discard("sh:op", "e1")
    assert store.replay("sh:op", "e0", T0 + 3)
    assert [m.decode().split(":", 1)[1] for m in store.client.zrange(key, 0, -1)] == ["e0", "e2", "e3"]
    assert store.purge(T0 + 1, (Status.PENDING,)) == 3
    assert store.client.exists(key) == 0
    assert store.claim_ordered("sh:op", "e0", T0 + 4, LEASE) is None  # gone


def test_due_scans_past_a_big_held_back_backlog(store: RedisStore) -> None:
    """More held-back events than one page of the index (500) ahead of the claimable ones."""
    for n in range(1200):
        assert store.record(orec(f"o{n:04d}", float(n), t=T0 + n))
    for n in range(3):
        assert store.record(orec(f"u{n}", None, t=T0 + 5000 + n))
    assert store.claim_ordered("sh:op", "o0000", T0 + 6000, LEASE) is not None
    assert store.due(T0 + 6000, 0.0, 2) == [("sh:op", "u0"), ("sh:op", "u1")]
    assert store.due(T0 + 6000, 0.0, 100) == [("sh:op", f"u{n}") for n in range(3)]


def test_purge_and_drop_forget_the_keys(store: RedisStore) -> None:
    """A key whose holder is processing survives purge (its hash is the lock); drop leaves nothing."""
    assert store.record(orec("a", 1.0, key="k1"))
    assert store.record(orec("b", 1.0, key="k2"))
    store.claim_ordered("sh:op", "a", T0, LEASE)
    store.settle_ordered(("sh:op", "a", Status.DONE, T0 + 1, None, None), True)
    store.claim_ordered("sh:op", "b", T0 + 2, LEASE)
    store.purge(T0 + 100, (Status.DONE,))
    assert store.client.zrange(f"{store.prefix}okeys", 0, -1) == [b"sh%3Aop:k2"]
    store.drop()
    assert list(store.client.scan_iter(match=f"{store.prefix}*")) == []
