"""Ordering by resource: ``claim_ordered``/``settle_ordered``/``due``, proved the same way on every store.

The rules (docs/ordering.md): events of one ``(endpoint, order_key)`` are held one at a time, in
``(order_seq, received_at, id)`` order among the pending ones; an event older than the newest one
handled for its key is claimed with ``stale = True``; a ``failed`` earlier event does not hold later
ones back. The Django store runs this class too (tests/integrations/dj/test_django_contract.py).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

from hookinbox.events import EventRecord, Status
from hookinbox.stores import Store

T0 = 1_000_000.0
LEASE = 60.0


def orec(
    event_id: str, key: str | None = "obj_1", seq: float | None = 1.0, t: float = T0, endpoint: str = "shop"
) -> EventRecord:
    return EventRecord(
        endpoint=endpoint, id=event_id, type="thing.updated", body=b'{"a": 1}', headers={}, received_at=t,
        order_key=key, order_seq=seq if key is not None else None,
    )  # fmt: skip


def done(store: Store, event_id: str, now: float, advance: bool = True, endpoint: str = "shop") -> str | None:
    return store.settle_ordered((endpoint, event_id, Status.DONE, now, None, None), advance)


@pytest.fixture
def store(make_store: Any) -> Store:
    s: Store = make_store()
    return s


class TestOrderingContract:
    def test_fields_round_trip(self, store: Store) -> None:
        """order_key and order_seq are kept and read back; an unordered event has neither."""
        assert store.record(orec("e1", "cus_9", 1700000000.25))
        assert store.record(orec("e2", None))
        got = store.get("shop", "e1")
        assert got is not None and (got.order_key, got.order_seq) == ("cus_9", 1700000000.25)
        plain = store.get("shop", "e2")
        assert plain is not None and (plain.order_key, plain.order_seq) == (None, None)
        claimed = store.claim_ordered("shop", "e1", T0, LEASE)
        assert claimed is not None and (claimed.order_key, claimed.order_seq, claimed.stale) == (
            "cus_9", 1700000000.25, False
        )  # fmt: skip

    def test_unordered_event_is_a_plain_claim(self, store: Store) -> None:
        store.record(orec("a", None))
        store.record(orec("b", None))
        assert store.claim_ordered("shop", "a", T0, LEASE) is not None
        assert store.claim_ordered("shop", "b", T0, LEASE) is not None  # no key: nothing holds it back
        assert store.claim_ordered("shop", "a", T0, LEASE) is None  # already held, like claim
        assert done(store, "a", T0 + 1) is None  # no key: no next event
        assert store.get("shop", "a").status is Status.DONE  # type: ignore[union-attr]

    def test_one_at_a_time_in_order(self, store: Store) -> None:
        """The earliest pending event goes first; the next waits until it is settled, then is named."""
        store.record(orec("second", seq=2.0, t=T0))
        store.record(orec("first", seq=1.0, t=T0 + 1))  # arrived later, but comes first
        assert store.claim_ordered("shop", "second", T0 + 2, LEASE) is None  # "first" is pending before it
        first = store.claim_ordered("shop", "first", T0 + 2, LEASE, owner="p1")
        assert first is not None and first.status is Status.PROCESSING and first.stale is False
        assert first.attempts == 1 and store.get("shop", "first").owner == "p1"  # type: ignore[union-attr]
        assert store.claim_ordered("shop", "second", T0 + 3, LEASE) is None  # "first" is processing
        assert done(store, "first", T0 + 4) == "second"
        second = store.claim_ordered("shop", "second", T0 + 5, LEASE)
        assert second is not None and second.stale is False
        assert done(store, "second", T0 + 6) is None  # nothing left
        assert [store.get("shop", i).status for i in ("first", "second")] == [Status.DONE, Status.DONE]  # type: ignore[union-attr]

    def test_settle_and_claim_the_next_in_one_call(self, store: Store) -> None:
        store.record(orec("s1", seq=1.0))
        store.record(orec("s3", seq=3.0))
        store.record(orec("s2", seq=2.0))
        assert store.claim_ordered("shop", "s1", T0, LEASE, owner="p1") is not None
        nxt = store.settle_ordered_next(("shop", "s1", Status.DONE, T0 + 1, None, None), True, LEASE, "p1")
        assert nxt is not None and (nxt.id, nxt.status, nxt.attempts, nxt.stale) == ("s2", Status.PROCESSING, 1, False)
        assert store.get("shop", "s2").owner == "p1"  # type: ignore[union-attr]
        assert store.get("shop", "s1").status is Status.DONE  # type: ignore[union-attr]
        assert store.claim_ordered("shop", "s3", T0 + 2, LEASE) is None  # s2 holds the resource
        store.record(orec("s0", seq=0.5, t=T0 + 2))  # late: older than s1, handled already
        nxt = store.settle_ordered_next(("shop", "s2", Status.DONE, T0 + 3, None, None), True, LEASE, "p1")
        assert nxt is not None and (nxt.id, nxt.stale) == ("s0", True)  # first in order, and stale
        nxt = store.settle_ordered_next(("shop", "s0", Status.STALE, T0 + 4, None, None), False, LEASE, "p1")
        assert nxt is not None and (nxt.id, nxt.stale) == ("s3", False)
        assert store.settle_ordered_next(("shop", "s3", Status.DONE, T0 + 5, None, None), True, LEASE) is None
        assert [store.get("shop", i).status for i in ("s0", "s1", "s2", "s3")] == [  # type: ignore[union-attr]
            Status.STALE, Status.DONE, Status.DONE, Status.DONE
        ]  # fmt: skip
        store.record(orec("plain", None))
        store.claim_ordered("shop", "plain", T0 + 6, LEASE)
        assert store.settle_ordered_next(("shop", "plain", Status.DONE, T0 + 7, None, None), True, LEASE) is None

    def test_keys_and_endpoints_are_independent(self, store: Store) -> None:
        store.record(orec("a1", "obj_a", 1.0))
        store.record(orec("b2", "obj_b", 2.0))
        store.record(orec("a0", "obj_a", 5.0, endpoint="other"))
        assert store.claim_ordered("shop", "a1", T0, LEASE) is not None
        assert store.claim_ordered("shop", "b2", T0, LEASE) is not None  # another key
        assert store.claim_ordered("other", "a0", T0, LEASE) is not None  # same key, another endpoint

    def test_ties_go_by_arrival_then_id(self, store: Store) -> None:
        """Same order_seq (a timestamp in whole seconds, say): the one received first goes first."""
        store.record(orec("zz", seq=7.0, t=T0))
        store.record(orec("aa", seq=7.0, t=T0 + 1))
        store.record(orec("ab", seq=7.0, t=T0 + 1))
        assert store.claim_ordered("shop", "aa", T0 + 2, LEASE) is None
        assert store.claim_ordered("shop", "zz", T0 + 2, LEASE) is not None
        assert done(store, "zz", T0 + 3) == "aa"
        assert store.claim_ordered("shop", "ab", T0 + 4, LEASE) is None  # same seq and time: "aa" < "ab"
        aa = store.claim_ordered("shop", "aa", T0 + 4, LEASE)
        assert aa is not None and aa.stale is False  # equal to the newest handled: not stale
        assert done(store, "aa", T0 + 5) == "ab"

    def test_older_than_the_newest_handled_is_stale(self, store: Store) -> None:
        store.record(orec("new", seq=5.0))
        assert store.claim_ordered("shop", "new", T0, LEASE) is not None
        assert done(store, "new", T0 + 1) is None
        store.record(orec("old", seq=3.0, t=T0 + 2))  # delivered late
        old = store.claim_ordered("shop", "old", T0 + 3, LEASE)
        assert old is not None and old.stale is True
        assert store.settle_ordered(("shop", "old", Status.STALE, T0 + 4, None, None), False) is None
        got = store.get("shop", "old")
        assert got is not None and got.status is Status.STALE and got.lease_until is None
        assert got.history and got.history[-1].outcome == "stale"
        assert store.stats()["shop"].get("stale") == 1
        assert [r.id for r in store.list(status=Status.STALE)] == ["old"]
        assert ("shop", "old") not in store.due(T0 + 100, 0.0, 100)  # finished
        # replayable: pending again (processing runs it with event.stale; see test_ordering_processing)
        assert store.replay("shop", "old", T0 + 10) is True
        again = store.claim_ordered("shop", "old", T0 + 11, LEASE)
        assert again is not None and again.stale is True and again.attempts == 1

    def test_advance_only_when_asked_and_only_upwards(self, store: Store) -> None:
        store.record(orec("e5", seq=5.0))
        store.claim_ordered("shop", "e5", T0, LEASE)
        assert store.settle_ordered(("shop", "e5", Status.FAILED, T0 + 1, T0 + 50, "boom"), False) is None
        store.record(orec("e4", seq=4.0, t=T0 + 2))
        e4 = store.claim_ordered("shop", "e4", T0 + 3, LEASE)
        assert e4 is not None and e4.stale is False  # e5 failed: not handled, so e4 is not older than it
        assert done(store, "e4", T0 + 4) is None
        e5 = store.claim_ordered("shop", "e5", T0 + 60, LEASE)
        assert e5 is not None and e5.stale is False and e5.attempts == 2
        assert done(store, "e5", T0 + 61) is None
        store.record(orec("e3", seq=3.0, t=T0 + 62))
        e3 = store.claim_ordered("shop", "e3", T0 + 63, LEASE)
        assert e3 is not None and e3.stale is True
        assert done(store, "e3", T0 + 64, advance=True) is None  # advancing to a lower seq lowers nothing
        store.record(orec("e4b", seq=4.5, t=T0 + 65))
        e4b = store.claim_ordered("shop", "e4b", T0 + 66, LEASE)
        assert e4b is not None and e4b.stale is True  # still below 5

    def test_a_failed_earlier_event_does_not_hold_later_ones(self, store: Store) -> None:
        store.record(orec("early", seq=1.0))
        store.record(orec("late", seq=2.0))
        store.claim_ordered("shop", "early", T0, LEASE)
        nxt = store.settle_ordered(("shop", "early", Status.FAILED, T0 + 1, T0 + 100, "boom"), False)
        assert nxt == "late"
        assert store.claim_ordered("shop", "late", T0 + 2, 1000.0) is not None
        assert store.claim_ordered("shop", "early", T0 + 101, LEASE) is None  # "late" is processing
        assert done(store, "late", T0 + 102) is None  # "early" is failed, not pending: not named
        early = store.claim_ordered("shop", "early", T0 + 103, LEASE)
        assert early is not None and early.stale is True

    def test_an_expired_lease_holds_nothing(self, store: Store) -> None:
        store.record(orec("a", seq=1.0))
        store.record(orec("b", seq=2.0))
        assert store.claim_ordered("shop", "a", T0, 10.0) is not None
        assert store.claim_ordered("shop", "b", T0 + 5, LEASE) is None
        assert store.claim_ordered("shop", "b", T0 + 11, LEASE) is not None  # a's worker died: lease over
        assert store.claim_ordered("shop", "a", T0 + 12, LEASE) is None  # b now holds the key

    def test_due_leaves_out_held_back_events(self, store: Store) -> None:
        """A sweep page never fills with events that cannot be claimed (the sweeper would spin)."""
        store.record(orec("o1", seq=1.0))
        store.record(orec("o2", seq=2.0))
        store.record(orec("o3", seq=3.0))
        store.record(orec("plain", None))
        assert sorted(store.due(T0 + 1, 0.0, 100)) == [("shop", "o1"), ("shop", "plain")]
        store.claim_ordered("shop", "o1", T0 + 1, LEASE)
        assert sorted(store.due(T0 + 2, 0.0, 100)) == [("shop", "plain")]
        done(store, "o1", T0 + 3)
        assert sorted(store.due(T0 + 4, 0.0, 100)) == [("shop", "o2"), ("shop", "plain")]
        assert store.due(T0 + 4, 10.0, 100) == []  # recover_after still applies
        store.claim_ordered("shop", "o2", T0 + 4, 10.0)
        assert ("shop", "o2") in store.due(T0 + 20, 0.0, 100)  # expired lease: recoverable
        assert ("shop", "o3") in store.due(T0 + 20, 0.0, 100)  # and o2 no longer holds o3 back

    def test_purge_forgets_quiet_keys(self, store: Store) -> None:
        store.record(orec("n", seq=5.0))
        store.claim_ordered("shop", "n", T0, LEASE)
        done(store, "n", T0 + 1)
        store.purge(T0 + 100, (Status.DEAD,))
        store.record(orec("o", seq=3.0, t=T0 + 2))
        o = store.claim_ordered("shop", "o", T0 + 3, LEASE)
        assert o is not None and o.stale is True  # purging dead events keeps the key's state
        store.settle_ordered(("shop", "o", Status.STALE, T0 + 4, None, None), False)
        assert store.purge(T0 + 100, (Status.DONE, Status.STALE)) == 2
        store.record(orec("p", seq=3.0, t=T0 + 200))
        p = store.claim_ordered("shop", "p", T0 + 201, LEASE)
        assert p is not None and p.stale is False  # the key was quiet since before: forgotten

    def test_concurrent_claimers_never_overlap(self, make_store: Any) -> None:
        """Three claimers on their own store objects (their own connections), events of two keys
        recorded while they run: a key is never held twice at once, and what is handled (not stale)
        goes up in order_seq."""
        first: Store = make_store()
        stores = [first] + [make_store() if first.durable else first for _ in range(3)]  # memory: one process
        recorder, claimers = stores[0], stores[1:]
        rng = random.Random(18)
        ids = [f"ev{i}" for i in range(40)]
        seqs = {i: float(rng.randrange(1000)) for i in ids}
        keys = {i: ("k1", "k2")[n % 2] for n, i in enumerate(ids)}
        held: dict[str, str] = {}
        handled: dict[str, list[float]] = {"k1": [], "k2": []}
        overlaps: list[str] = []
        errors: list[str] = []
        lock = threading.Lock()
        recorded = threading.Event()
        finished: set[str] = set()

        def record_all() -> None:
            for i in ids:
                recorder.record(orec(i, keys[i], seqs[i], t=T0 + ids.index(i) * 0.001))
            recorded.set()

        def claim_loop(s: Store, name: str) -> None:
            local = random.Random(name)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                with lock:
                    todo = [i for i in ids if i not in finished]
                if not todo:
                    return
                i = local.choice(todo)
                try:
                    got = s.claim_ordered("shop", i, T0 + 10, LEASE, owner=name)
                except Exception as exc:  # the store must not fail under contention: say so, not hang
                    errors.append(f"claim {i}: {exc!r}")
                    return
                if got is None:
                    continue
                k = keys[i]
                with lock:  # from the claim to the settlement, nobody else may hold k
                    if k in held:
                        overlaps.append(f"{i} while {held[k]} held {k}")
                    held[k] = i
                time.sleep(0.002)
                with lock:
                    del held[k]
                    if not got.stale:
                        handled[k].append(seqs[i])
                    finished.add(i)
                status = Status.STALE if got.stale else Status.DONE
                try:
                    s.settle_ordered(("shop", i, status, T0 + 10, None, None), not got.stale)
                except Exception as exc:
                    errors.append(f"settle {i}: {exc!r}")
                    return

        threads = [threading.Thread(target=record_all)]
        threads += [threading.Thread(target=claim_loop, args=(s, f"p{n}")) for n, s in enumerate(claimers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        assert overlaps == []
        for k, seen in handled.items():
            assert seen == sorted(seen), k
            assert seen, k
        statuses = {recorder.get("shop", i).status for i in ids}  # type: ignore[union-attr]
        assert statuses <= {Status.DONE, Status.STALE}
