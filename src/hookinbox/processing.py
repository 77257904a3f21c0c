"""Processing accepted events: claim, run their handlers, settle; sweep for due events; retention.

Written once as sans-IO flows (see :mod:`hookinbox.drive`) over a
:class:`~hookinbox.runtime.Runtime`, run by every executor: asyncio tasks,
worker threads, Celery and RQ workers, :meth:`Inbox.process_due`.

:func:`process_batch` is the unit: the events a worker took from its queue in
one wake-up are claimed in ONE store call, their handlers run one event after
the other, and their outcomes are settled in ONE store call. :func:`process`
is a batch of one. Store calls go through :func:`store_call`, the one place
that decides between calling a non-blocking store directly and yielding the
call to the driver.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hookinbox import _tracing
from hookinbox.drive import Call, Flow, is_async_callable, run_sync, store_call
from hookinbox.events import Event, EventRecord, Status
from hookinbox.runtime import Runtime
from hookinbox.stores import Store
from hookinbox.stores._claims import Settle

__all__ = [
    "SweepPolicy",
    "maintain",
    "process",
    "process_batch",
    "process_due",
    "process_ordered",
    "release",
    "sweep",
]

log = logging.getLogger("hookinbox.processing")

#: retention (dropping old bodies, purging finished keys) runs at most this often per process
MAINTENANCE_INTERVAL = 600.0

Item = tuple[str, str, "Event | None"]

_NOT_STARTED = "not started: the process was shutting down; released"


@dataclass(frozen=True)
class SweepPolicy:
    """How every sweeper (thread and asyncio executors, Celery/RQ workers) looks for due events.

    A sweep reads at most ``page`` due keys. When it finds a full page it goes on at once (a backlog
    drains at the store's speed, not at ``page`` per ``interval``); otherwise it sleeps ``interval``.
    ``recover_after`` is how long a ``pending`` event waits before a sweeper takes it (the process that
    recorded it is about to); events this process deferred itself are queued again without waiting.
    """

    interval: float
    recover_after: float
    page: int = 500
    maintenance_interval: float = MAINTENANCE_INTERVAL

    @classmethod
    def from_runtime(cls, rt: Runtime) -> SweepPolicy:
        s = rt.settings
        return cls(interval=s.sweep_interval, recover_after=s.recover_after)


def _error_text(exc: BaseException) -> str:
    """Exception type and message, capped: stored as ``last_error``, never the body."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:2000]


def _ids(endpoint: str, event_id: str) -> dict[str, str]:
    """``extra`` for log records: structured logging picks the event key up from here."""
    return {"endpoint": endpoint, "event_id": event_id}


def process(rt: Runtime, endpoint: str, event_id: str, event: Event | None = None) -> Flow[str]:
    """Claim one event and run its handlers; the outcome (``done``, ``retry``, ``dead``, ``skipped``)."""
    outcomes = yield from process_batch(rt, [(endpoint, event_id, event)])
    return outcomes[0]


def process_batch(rt: Runtime, items: Sequence[Item], go_on: Callable[[], bool] | None = None) -> Flow[list[str]]:
    """Claim ``items`` in one store call, run each one's handlers, settle all in one store call.

    Handler exceptions never escape: they are logged with the event id and turned into a retry (or
    ``dead`` after ``max_attempts``). Handlers that succeeded are noted, so that a retry runs only the
    ones that failed. Sync handlers are marked blocking, so the async driver runs them in a thread
    and never on the event loop. Claims carry this process's id (heartbeats): if it dies, any live
    process gives its claims back after ``process_timeout``. ``go_on`` is asked before each event
    after the first: when it says no (shutdown past its deadline), the events whose handlers did not
    start are given back, due at once (``released``).

    Events of endpoints ordered by resource (``order_by``) are claimed one by one instead, through
    :func:`process_ordered`.
    """
    if rt.ordered and any(item[0] in rt.ordered for item in items):
        return (yield from _process_mixed(rt, items, go_on))
    return (yield from _process_plain(rt, items, go_on))


def _process_mixed(rt: Runtime, items: Sequence[Item], go_on: Callable[[], bool] | None) -> Flow[list[str]]:
    """A batch with events of ordered endpoints: the others as one batch, then each ordered one."""
    plain = [n for n, item in enumerate(items) if item[0] not in rt.ordered]
    outcomes = [""] * len(items)
    if plain:
        done = yield from _process_plain(rt, [items[n] for n in plain], go_on)
        for n, outcome in zip(plain, done, strict=True):
            outcomes[n] = outcome
    started = bool(plain)
    for n, (endpoint, event_id, event) in enumerate(items):
        if outcomes[n]:
            continue
        outcomes[n] = yield from process_ordered(rt, endpoint, event_id, event, go_on if started else None)
        started = True
    return outcomes


def process_ordered(
    rt: Runtime, endpoint: str, event_id: str, event: Event | None = None, go_on: Callable[[], bool] | None = None
) -> Flow[str]:
    """Claim an event of an endpoint ordered by resource and run it; then the next one of its resource.

    The store (``claim_ordered``) hands out the events of one resource one at a time, in order; this
    returns ``skipped`` when another event of the resource goes first. A claimed event older than the
    newest handled for its resource is ``stale``: settled so without running its handlers, or run with
    ``event.stale = True`` when the endpoint says ``on_stale = "run"`` or the stale event was
    replayed (an operator asking for it). Settling claims the resource's next pending event in the
    same store call (``settle_ordered_next``), and this flow runs it at once: a burst of one
    resource's events goes through one worker without waiting for a sweep. Returns the first event's
    outcome.
    """
    store = rt.store
    lease, owner = rt.settings.lease, rt.owner
    ep = rt.endpoints.get(endpoint)
    run_stale = ep is not None and ep.ordering is not None and ep.ordering.on_stale == "run"
    if go_on is not None and not go_on():
        return "skipped"  # shutting down before it started: it stays pending (due to the next sweeper)
    record: EventRecord | None = yield from store_call(
        store, store.claim_ordered, None, endpoint, event_id, rt.clock(), lease, owner
    )
    first: str | None = None
    while record is not None:
        started = rt.clock()
        replayed = any(a.outcome == "stale" for a in record.history)
        if record.stale and not (run_stale or replayed):
            outcome = "stale"
            settle: Settle = (endpoint, record.id, Status.STALE, rt.clock(), None, _stale_note(record))
        else:
            flow = _run_handlers(rt, record, event, stale=record.stale)
            if _tracing.ACTIVE:
                flow = _tracing.traced_process(flow, record)
            outcome, settle = yield from flow
            if record.stale and outcome == "done":
                outcome = "stale"
                settle = (endpoint, record.id, Status.STALE, settle[3], None, _stale_note(record))
        handled = outcome == "done"
        current, event = record, None
        if go_on is None or go_on():  # settle and take the resource's next event in one store call
            record = yield from store_call(store, store.settle_ordered_next, None, settle, handled, lease, owner)
        else:  # shutting down: the next one stays pending
            yield from store_call(store, store.settle_ordered, None, settle, handled)
            record = None
        _report(rt, current, outcome, settle, started)
        first = first or outcome
    return first or "skipped"


def _stale_note(record: EventRecord) -> str:
    """``last_error`` of a stale event (an explanation, not a failure)."""
    return f"stale: a newer event of {record.order_key!r} was handled before this one"


def _process_plain(rt: Runtime, items: Sequence[Item], go_on: Callable[[], bool] | None) -> Flow[list[str]]:
    store = rt.store
    now = rt.clock()
    lease, owner = rt.settings.lease, rt.owner
    claimed: list[EventRecord | None]
    if len(items) == 1:  # one event (async handlers on the loop): the store's group-committed claim
        ep, eid, _ = items[0]
        claimed = [(yield from store_call(store, store.claim, store.aclaim, ep, eid, now, lease, owner))]
    else:
        keys = [(ep, eid) for ep, eid, _ in items]
        claimed = yield from store_call(store, store.claim_many, store.aclaim_many, keys, now, lease, owner)
    outcomes: list[str] = []
    settles: list[Settle] = []
    for (_, _, event), record in zip(items, claimed, strict=True):
        if record is None:
            outcomes.append("skipped")  # already done, or another worker holds it
            continue
        if go_on is not None and outcomes and not go_on():
            outcomes.append("released")
            settles.append((record.endpoint, record.id, Status.FAILED, rt.clock(), rt.clock(), _NOT_STARTED))
            continue
        started = rt.clock()
        flow = _run_handlers(rt, record, event, stale=False)
        if _tracing.ACTIVE:  # OpenTelemetry installed or JSON logs on: log fields, the receive span as parent
            flow = _tracing.traced_process(flow, record)
        outcome, settle = yield from flow
        outcomes.append(outcome)
        settles.append(settle)
        _report(rt, record, outcome, settle, started)
    if len(settles) == 1:
        yield from _settle_one(store, settles[0])
    elif settles:
        yield from store_call(store, store.settle_many, store.asettle_many, settles)
    return outcomes


def _settle_one(store: Store, settle: Settle) -> Flow[None]:
    endpoint, event_id, status, now, retry_at, error = settle
    if status is Status.DONE:
        yield from store_call(store, store.complete, store.acomplete, endpoint, event_id, now)
    else:
        yield from store_call(store, store.fail, store.afail, endpoint, event_id, now, error or "", retry_at)


def _run_handlers(rt: Runtime, record: EventRecord, event: Event | None, stale: bool) -> Flow[tuple[str, Settle]]:
    endpoint, event_id = record.endpoint, record.id
    ep = rt.endpoints.get(endpoint)
    if ep is None:
        return "dead", (endpoint, event_id, Status.DEAD, rt.clock(), None, f"endpoint {endpoint!r} is not configured")
    try:
        if event is None:
            event = Event.from_record(record, ep.envelope.data)
        event.attempt = record.attempts
        event.stale = stale
    except Exception as exc:  # a stored body that no longer parses: nothing to retry
        return "dead", (endpoint, event_id, Status.DEAD, rt.clock(), None, _error_text(exc))
    handlers = rt.handlers_for(endpoint, record.type)
    todo = [(name, fn) for name, fn in handlers if name not in record.handlers_done]
    errors: list[str] = []
    store = rt.store
    for name, fn in todo:
        started = time.perf_counter()
        try:
            if _tracing.ACTIVE:
                yield _tracing.handler_call(fn, name, event)
            else:
                yield Call(fn, event, blocking=not is_async_callable(fn))
        except Exception as exc:
            errors.append(f"{name}: {_error_text(exc)}")
            log.exception(
                "handler %s failed on event %s (%s, %s), attempt %d",
                name,
                event_id,
                endpoint,
                record.type,
                record.attempts,
                extra=_ids(endpoint, event_id),
            )
            continue
        finally:
            rt.observe_time("handler", endpoint, time.perf_counter() - started)
        if len(handlers) > 1:
            yield from store_call(store, store.handler_done, None, endpoint, event_id, name)
    now = rt.clock()
    if not errors:
        return "done", (endpoint, event_id, Status.DONE, now, None, None)
    delay = ep.retry.next_delay(record.attempts, random.random())
    error = "\n".join(errors)[:4000]
    if delay is None:
        return "dead", (endpoint, event_id, Status.DEAD, now, None, error)
    return "retry", (endpoint, event_id, Status.FAILED, now, now + delay, error)


def _report(rt: Runtime, record: EventRecord, outcome: str, settle: Settle, started: float) -> None:
    endpoint, event_id = record.endpoint, record.id
    if outcome == "done":
        if log.isEnabledFor(logging.DEBUG):  # once per event: skip building the extra dict when nobody listens
            log.debug("event %s (%s) done", event_id, endpoint, extra=_ids(endpoint, event_id))
        rt.observe("done", endpoint, record.type)
    elif outcome == "stale":
        log.info(
            "event %s (%s) is stale: a newer event of its resource was handled first",
            event_id,
            endpoint,
            extra=_ids(endpoint, event_id),
        )
        rt.observe("stale", endpoint, record.type)
    elif outcome == "retry":
        retry_at = settle[4] or started
        log.info(
            "event %s (%s) will be retried in %.3f s",
            event_id,
            endpoint,
            retry_at - settle[3],
            extra=_ids(endpoint, event_id),
        )
        rt.observe("retried", endpoint, record.type)
    else:
        if endpoint not in rt.endpoints:
            log.error("event %s of unknown endpoint %r marked dead", event_id, endpoint, extra=_ids(endpoint, event_id))
        else:
            log.error(
                "event %s (%s, %s) is dead after %d attempt(s): %s",
                event_id,
                endpoint,
                record.type,
                record.attempts,
                (settle[5] or "").splitlines()[0][:200] if settle[5] else "",
                extra=_ids(endpoint, event_id),
            )
        rt.observe("dead", endpoint, record.type)


def release(rt: Runtime, endpoint: str, event_id: str) -> Flow[None]:
    """Give back a claimed event whose handlers were interrupted (shutdown): due again now.

    Only for handlers that really stopped (a cancelled coroutine); a sync
    handler still running in a thread keeps its lease instead.
    """
    store = rt.store
    now = rt.clock()
    rec: EventRecord | None = yield from store_call(store, store.get, None, endpoint, event_id)
    if rec is not None and rec.status is Status.PROCESSING:
        yield from _settle_one(store, (endpoint, event_id, Status.FAILED, now, now, "interrupted by shutdown"))
        log.info("event %s (%s) interrupted by shutdown; released", event_id, endpoint, extra=_ids(endpoint, event_id))


def sweep(
    rt: Runtime,
    submit: Callable[[str, str], bool],
    *,
    recover_after: float,
    limit: int = 500,
    prune: bool = True,
) -> Flow[int]:
    """Find up to ``limit`` events due now and submit them; returns how many keys were found.

    Due: new but never picked up (older than ``recover_after``), failed and due, or abandoned (lease
    expired). Stops at the first refusal (queue full): the rest stay due. With ``prune`` (a sweeper
    asks once per ``sweep_interval``, not once per page of a backlog), claims of processes whose
    heartbeat stopped (see :mod:`hookinbox._liveness`) are released first, so they are due.
    """
    store = rt.store
    now = rt.clock()
    if prune and store.durable:
        pruned = yield from store_call(store, store.release_dead, None, now, rt.settings.process_timeout)
        for info, keys in pruned:
            log.warning(
                "process %s (%s pid %d, %s) presumed dead: no heartbeat for %.0f s; released %d event(s) it held",
                info.id,
                info.host,
                info.pid,
                info.kind,
                now - info.last_heartbeat,
                len(keys),
            )
            for endpoint, _ in keys:
                rt.observe("released", endpoint, info.id)
    due: Sequence[tuple[str, str]] = yield from store_call(store, store.due, None, now, recover_after, limit)
    n = 0
    for endpoint, event_id in due:
        if not submit(endpoint, event_id):
            break
        n += 1
    if n:
        log.debug("sweep: %d due event(s) queued", n)
    return n


def process_due(rt: Runtime, *, recover_after: float = 0.0, limit: int = 1000, batch: int = 100) -> dict[str, int]:
    """Process due events in the calling thread, ``batch`` per claim; outcome counts (scripts, workers)."""
    counts: dict[str, int] = {}
    found: list[tuple[str, str]] = []

    def collect(endpoint: str, event_id: str) -> bool:
        found.append((endpoint, event_id))
        return True

    run_sync(sweep(rt, collect, recover_after=recover_after, limit=limit))
    for start in range(0, len(found), batch):
        chunk = [(ep, eid, None) for ep, eid in found[start : start + batch]]
        for outcome in run_sync(process_batch(rt, chunk)):
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def maintain(rt: Runtime) -> Flow[Any]:
    """Retention: drop bodies of finished events past ``retention``; forget done keys past ``dedup_ttl``."""
    store = rt.store
    now = rt.clock()
    s = rt.settings
    dropped = yield from store_call(store, store.drop_bodies, None, now - s.retention)
    purged = yield from store_call(
        store, store.purge, None, now - max(s.dedup_ttl, s.retention), (Status.DONE, Status.STALE)
    )
    if dropped or purged:
        log.info("retention: dropped %s bodies, purged %s finished events", dropped, purged)


def log_unsettled(endpoint: str, event_id: str, exc: BaseException) -> None:
    """An executor could not finish processing (e.g. the store failed while settling).

    Nothing is lost: the claim's lease expires and the sweeper runs the event again.
    """
    log.warning(
        "processing event %s (%s) failed (%s); it will be recovered",
        event_id,
        endpoint,
        type(exc).__name__,
        extra=_ids(endpoint, event_id),
    )
