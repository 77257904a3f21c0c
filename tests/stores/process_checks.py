"""Owner, attempt history, batch claims/settlements and the process registry (issues 14, 15), as checks
on any store: run on every backend by ``test_contract_processes.py`` and on the Django store by
``tests/integrations/dj``.

Each check takes ``make()`` (a new store on the same data: a second instance stands for another
process) and a unique ``ns`` used in event and process ids, so checks never see each other's rows.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from hookinbox.events import Attempt, EventRecord, ProcessInfo, Status
from hookinbox.stores import Store

T0 = 1_000_000.0
WEIRD = 'TypeError: never "quoted"\n\tline 2 / \\ é ✓ \u2028 {"x": [1]}'  # JSON escapes, in one error text
Make = Callable[[], Any]


def rec(event_id: str, endpoint: str = "shop", t: float = T0) -> EventRecord:
    return EventRecord(
        endpoint=endpoint, id=event_id, type="order.paid", body=b'{"a": 1}', headers={"h": "v"}, received_at=t
    )


def proc(pid: str, *, heartbeat: float, started: float = T0, host: str = "box1", number: int = 7) -> ProcessInfo:
    return ProcessInfo(id=pid, host=host, pid=number, kind="web", started_at=started, last_heartbeat=heartbeat)


def got(store: Store, event_id: str, endpoint: str = "shop") -> EventRecord:
    out = store.get(endpoint, event_id)
    assert out is not None, event_id
    return out


def mine(found: list[tuple[ProcessInfo, list[tuple[str, str]]]], ns: str) -> dict[str, list[tuple[str, str]]]:
    """release_dead's answer restricted to this check's processes: {process id: sorted released keys}."""
    return {info.id: sorted(keys) for info, keys in found if info.id.startswith(ns)}


def check_owner_and_history(make: Make, ns: str) -> None:
    """A claim sets the owner; each settlement clears it and appends one attempt (number, claim time, outcome,
    error, process); list() rows stay light."""
    store = make()
    e = f"{ns}e1"
    store.record(rec(e))
    claimed = store.claim("shop", e, T0 + 1, 30, f"{ns}p1")
    assert claimed is not None and claimed.owner == f"{ns}p1" and claimed.history == []
    assert got(store, e).owner == f"{ns}p1"
    store.fail("shop", e, T0 + 2, "ValueError: boom", T0 + 10)
    first = Attempt(1, T0 + 1, T0 + 2, "retry", "ValueError: boom", f"{ns}p1")
    now = got(store, e)
    assert (now.owner, now.status, now.history) == (None, Status.FAILED, [first])
    assert store.claim("shop", e, T0 + 10, 30, f"{ns}p2") is not None
    store.complete("shop", e, T0 + 11)
    now = got(store, e)
    assert (now.owner, now.status) == (None, Status.DONE)
    assert now.history == [first, Attempt(2, T0 + 10, T0 + 11, "done", None, f"{ns}p2")]
    # a claim without an owner (tools, tests) and a dead end
    d = f"{ns}dead"
    store.record(rec(d))
    claimed = store.claim("shop", d, T0 + 20, 30)
    assert claimed is not None and claimed.owner is None
    store.fail("shop", d, T0 + 21, "KeyError: 'x'", None)
    assert got(store, d).history == [Attempt(1, T0 + 20, T0 + 21, "dead", "KeyError: 'x'", None)]
    # a settlement of an event that is not processing appends nothing
    store.complete("shop", d, T0 + 22)
    assert len(got(store, d).history) == 1
    # replay keeps the history; the next attempt is numbered from 1 again
    assert store.replay("shop", d, T0 + 30)
    assert store.claim("shop", d, T0 + 31, 30, f"{ns}p1") is not None
    store.complete("shop", d, T0 + 32)
    assert [(a.number, a.outcome) for a in got(store, d).history] == [(1, "dead"), (1, "done")]
    assert all(r.body is None for r in store.list(limit=100))


def check_history_capped(make: Make, ns: str) -> None:
    """The history keeps the last 25 attempts."""
    store = make()
    e = f"{ns}cap"
    store.record(rec(e))
    for n in range(27):
        t = T0 + 10 * n
        assert store.claim("shop", e, t, 5, f"{ns}p") is not None
        store.fail("shop", e, t + 1, f"error {n + 1}", t + 2)
    history = got(store, e).history
    assert [a.number for a in history] == list(range(3, 28))
    assert history[-1] == Attempt(27, T0 + 260, T0 + 261, "retry", "error 27", f"{ns}p")


def check_claim_many(make: Make, ns: str) -> None:
    """claim_many: one result per key in order; a key twice in one call is claimed once (the first); keys
    that are missing, finished or leased give None; every claim gets the owner, lease and attempt."""
    store = make()
    a, b, c, fin = (f"{ns}{x}" for x in ("a", "b", "c", "fin"))
    for e in (a, b, c, fin):
        store.record(rec(e))
    store.claim("shop", fin, T0, 30)
    store.complete("shop", fin, T0)
    store.claim("shop", c, T0, 100)  # leased until T0 + 100
    keys = [("shop", a), ("shop", b), ("shop", a), ("shop", f"{ns}missing"), ("shop", fin), ("shop", c)]
    out = store.claim_many(keys, T0 + 5, 60, f"{ns}w")
    assert [r is not None for r in out] == [True, True, False, False, False, False]
    for r, e in zip(out[:2], (a, b), strict=True):
        assert r is not None and (r.id, r.status, r.attempts, r.lease_until, r.owner) == (
            e,
            Status.PROCESSING,
            1,
            T0 + 65,
            f"{ns}w",
        )
        assert r.body == b'{"a": 1}'
    assert got(store, c).owner is None and got(store, c).lease_until == T0 + 100
    assert store.claim_many([], T0, 60, None) == []
    # the expired lease of c is claimable, like claim
    again = store.claim_many([("shop", c)], T0 + 100, 60, None)
    assert again[0] is not None and again[0].attempts == 2 and again[0].owner is None


def check_settle_many(make: Make, ns: str) -> None:
    """settle_many: done, retry and dead in one call, True for each event that was processing; a key twice
    settles once (the first), an event not processing is left alone; each gets its attempt."""
    store = make()
    a, b, c, idle = (f"{ns}{x}" for x in ("a", "b", "c", "idle"))
    for e in (a, b, c, idle):
        store.record(rec(e))
    store.claim_many([("shop", a), ("shop", b), ("shop", c)], T0, 60, f"{ns}w")
    out = store.settle_many(
        [
            ("shop", a, Status.DONE, T0 + 1, None, None),
            ("shop", b, Status.FAILED, T0 + 2, T0 + 50, "RuntimeError: later"),
            ("shop", c, Status.DEAD, T0 + 3, None, WEIRD),
            ("shop", a, Status.DEAD, T0 + 4, None, "too late"),
            ("shop", idle, Status.DONE, T0 + 5, None, None),
            ("shop", f"{ns}missing", Status.DONE, T0 + 5, None, None),
        ]
    )
    assert out == [True, True, True, False, False, False]
    ra, rb, rc, ri = (got(store, e) for e in (a, b, c, idle))
    assert (ra.status, ra.last_error, ra.owner, ra.lease_until) == (Status.DONE, None, None, None)
    assert ra.history == [Attempt(1, T0, T0 + 1, "done", None, f"{ns}w")]
    assert (rb.status, rb.next_attempt_at, rb.last_error) == (Status.FAILED, T0 + 50, "RuntimeError: later")
    assert rb.history == [Attempt(1, T0, T0 + 2, "retry", "RuntimeError: later", f"{ns}w")]
    assert (rc.status, rc.last_error) == (Status.DEAD, WEIRD)
    assert rc.history == [Attempt(1, T0, T0 + 3, "dead", WEIRD, f"{ns}w")]
    assert (ri.status, ri.history) == (Status.PENDING, [])
    assert [k for k in store.due(T0 + 49, 1e9, 100) if k[1].startswith(ns)] == []
    assert [k for k in store.due(T0 + 50, 1e9, 100) if k[1].startswith(ns)] == [("shop", b)]
    assert store.settle_many([]) == []


def check_async_forms(make: Make, ns: str) -> None:
    """aclaim (with owner), aclaim_many, asettle_many, acomplete and afail do what their sync forms do."""
    store = make()
    a, b, c = (f"{ns}{x}" for x in ("a", "b", "c"))
    for e in (a, b, c):
        store.record(rec(e))

    async def main() -> tuple[Any, ...]:
        one = await store.aclaim("shop", a, T0, 30, f"{ns}x")
        many = await store.aclaim_many([("shop", b), ("shop", c), ("shop", a)], T0 + 1, 30, f"{ns}y")
        await store.acomplete("shop", a, T0 + 2)
        await store.afail("shop", b, T0 + 3, "boom", None)
        settled = await store.asettle_many([("shop", c, Status.DONE, T0 + 4, None, None)])
        return one, many, settled

    one, many, settled = asyncio.run(main())
    assert one is not None and one.owner == f"{ns}x"
    assert [r is not None and r.owner for r in many] == [f"{ns}y", f"{ns}y", False]
    assert settled == [True]
    assert [got(store, e).status for e in (a, b, c)] == [Status.DONE, Status.DEAD, Status.DONE]
    assert got(store, a).history == [Attempt(1, T0, T0 + 2, "done", None, f"{ns}x")]
    assert got(store, b).history == [Attempt(1, T0 + 1, T0 + 3, "dead", "boom", f"{ns}y")]


def check_registry(make: Make, ns: str) -> None:
    """register (insert or replace by id), heartbeat (False once the row is gone), deregister, processes()
    oldest started first; a second store instance sees the same registry (memory: its own)."""
    store = make()
    p1, p2 = f"{ns}p1", f"{ns}p2"
    store.register_process(proc(p1, heartbeat=T0, started=T0))
    store.register_process(proc(p2, heartbeat=T0 - 5, started=T0 - 5, host="box2", number=8))
    listed = [p for p in store.processes() if p.id.startswith(ns)]
    assert listed == [proc(p2, heartbeat=T0 - 5, started=T0 - 5, host="box2", number=8), proc(p1, heartbeat=T0)]
    assert store.heartbeat(p1, T0 + 3.25) is True
    store.register_process(proc(p2, heartbeat=T0 + 1, started=T0 + 1, host="box3"))  # replaced, not added
    listed = [p for p in store.processes() if p.id.startswith(ns)]
    assert listed == [proc(p1, heartbeat=T0 + 3.25), proc(p2, heartbeat=T0 + 1, started=T0 + 1, host="box3")]
    store.deregister_process(p2)
    store.deregister_process(f"{ns}never")  # not an error
    assert [p.id for p in store.processes() if p.id.startswith(ns)] == [p1]
    assert store.heartbeat(p2, T0 + 4) is False
    if store.durable:
        other = make()
        assert [p.id for p in other.processes() if p.id.startswith(ns)] == [p1]
        assert other.heartbeat(p1, T0 + 5) is True
        assert [p.last_heartbeat for p in store.processes() if p.id == p1] == [T0 + 5]
    store.deregister_process(p1)


def check_release_dead(make: Make, ns: str) -> None:
    """release_dead prunes processes whose heartbeat is older than the timeout and releases only their
    processing events: failed, due now, no lease or owner, the message, a "released" attempt. A live
    process's long claim, an unowned claim and a dead process's finished event are untouched."""
    store = make()
    dead, live = f"{ns}dead", f"{ns}live"
    store.register_process(proc(dead, heartbeat=T0 + 5, host="box9", number=4242))
    store.register_process(proc(live, heartbeat=T0 + 100))
    d1, d2, mine_done, l1, free = (f"{ns}{x}" for x in ("d1", "d2", "done", "l1", "free"))
    for e in (d1, d2, mine_done, l1, free):
        store.record(rec(e))
    store.claim_many([("shop", d1), ("shop", d2), ("shop", mine_done)], T0 + 1, 1000, dead)
    store.complete("shop", mine_done, T0 + 2)
    store.claim("shop", l1, T0 + 3, 1000, live)
    store.claim("shop", free, T0 + 3, 1000)
    now = T0 + 120
    assert mine(store.release_dead(now, 200), ns) == {}  # nobody silent for 200 s: nothing happens
    assert got(store, d1).status is Status.PROCESSING
    out = store.release_dead(now, 30)
    assert mine(out, ns) == {dead: sorted([("shop", d1), ("shop", d2)])}
    info = next(i for i, _ in out if i.id == dead)
    assert (info.host, info.pid, info.last_heartbeat) == ("box9", 4242, T0 + 5)
    message = f"process {dead} (box9 pid 4242) presumed dead: no heartbeat for 115 s"
    for e in (d1, d2):
        r = got(store, e)
        assert (r.status, r.next_attempt_at, r.lease_until, r.owner, r.last_error, r.attempts) == (
            Status.FAILED,
            now,
            None,
            None,
            message,
            1,
        )
        assert r.history == [Attempt(1, T0 + 1, now, "released", message, dead)]
    assert got(store, l1).status is Status.PROCESSING and got(store, l1).owner == live
    assert got(store, free).status is Status.PROCESSING
    assert got(store, mine_done).status is Status.DONE and len(got(store, mine_done).history) == 1
    assert [p.id for p in store.processes() if p.id.startswith(ns)] == [live]
    assert store.heartbeat(dead, now) is False  # pruned: the process must register afresh
    assert {k for k in store.due(now, 1e9, 100) if k[1].startswith(ns)} == {("shop", d1), ("shop", d2)}
    assert mine(store.release_dead(now, 30), ns) == {}  # once only
    # the released events are claimable at once, and the next attempt counts on
    again = store.claim("shop", d1, now, 60, live)
    assert again is not None and again.attempts == 2 and again.owner == live
    store.deregister_process(live)


def check_concurrent_release(make: Make, ns: str, in_threads: Callable[[list[Callable[[], Any]]], list[Any]]) -> None:
    """Two sweepers (each with its own store instance) calling release_dead at once: every dead process is
    pruned by exactly one of them and each of its events released once (one "released" attempt)."""
    setup = make()
    keys: list[tuple[str, str]] = []
    for n in range(6):
        pid = f"{ns}p{n}"
        setup.register_process(proc(pid, heartbeat=T0, number=n))
        mine_keys = [("shop", f"{ns}e{n}-{k}") for k in range(3)]
        for _, e in mine_keys:
            setup.record(rec(e))
        assert all(setup.claim_many(mine_keys, T0, 1000, pid))
        keys += mine_keys
    sweepers = [make(), make()]
    results = in_threads([lambda s=s: s.release_dead(T0 + 60, 30) for s in sweepers])
    pruned = [info.id for found in results for info, _ in found if info.id.startswith(ns)]
    released = [k for found in results for info, ks in found if info.id.startswith(ns) for k in ks]
    assert sorted(pruned) == [f"{ns}p{n}" for n in range(6)]
    assert sorted(released) == sorted(keys)
    for _, e in keys:
        r = got(setup, e)
        assert r.status is Status.FAILED and [a.outcome for a in r.history] == ["released"]


def run_threads(calls: list[Callable[[], Any]], cleanup: Callable[[], None] = lambda: None) -> list[Any]:
    """Run each call in its own thread, released together; their results in order (errors re-raised)."""
    out: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def run(n: int) -> None:
        try:
            barrier.wait(10)
            out[n] = calls[n]()
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)
        finally:
            cleanup()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    if errors:
        raise errors[0]
    return out


ALL_CHECKS = (
    check_owner_and_history,
    check_history_capped,
    check_claim_many,
    check_settle_many,
    check_async_forms,
    check_registry,
    check_release_dead,
)
