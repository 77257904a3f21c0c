"""Processing one accepted event: claim, run its handlers, settle.

Written once as a sans-IO flow (see :mod:`hookinbox.drive`), run by every
executor: asyncio tasks, threads, Celery and RQ workers.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hookinbox.drive import Call, Flow, is_async_callable
from hookinbox.events import Event, EventRecord, Status

if TYPE_CHECKING:
    from hookinbox.inbox import Inbox

__all__ = ["maintain", "process", "release", "sweep"]

log = logging.getLogger("hookinbox.processing")


def _error_text(exc: BaseException) -> str:
    """Exception type and message, capped: stored as ``last_error``, never the body."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:2000]


def _ids(endpoint: str, event_id: str) -> dict[str, str]:
    """``extra`` for log records: structured logging picks the event key up from here."""
    return {"endpoint": endpoint, "event_id": event_id}


def process(inbox: Inbox, endpoint: str, event_id: str, event: Event | None = None) -> Flow[str]:
    """Claim the event and run its handlers; returns the outcome (``done``, ``retry``, ``dead``, ``skipped``).

    Handler exceptions never escape: they are logged with the event id and
    turned into a retry (or ``dead`` after ``max_attempts``). Handlers that
    succeeded are noted, so that a retry runs only the ones that failed.
    Sync handlers are marked blocking, so the async driver runs them in a
    thread and never on the event loop.
    """
    store = inbox.store
    ep = inbox.endpoints.get(endpoint)
    now = inbox.clock()
    record: EventRecord | None
    afail = getattr(store, "afail", None)  # like aclaim/acomplete: settle on the loop where the store can
    if store.blocking:
        aclaim = getattr(store, "aclaim", None)  # an async client avoids the thread hop on the loop
        record = yield Call(store.claim, endpoint, event_id, now, inbox.settings.lease, afn=aclaim, blocking=True)
    else:  # the memory store never blocks: a direct call costs less than a driver round trip
        record = store.claim(endpoint, event_id, now, inbox.settings.lease)
    if record is None:
        return "skipped"  # already done, or another worker holds it
    if ep is None:
        yield Call(
            store.fail,
            endpoint,
            event_id,
            now,
            f"endpoint {endpoint!r} is not configured",
            None,
            afn=afail,
            blocking=store.blocking,
        )
        log.error("event %s of unknown endpoint %r marked dead", event_id, endpoint, extra=_ids(endpoint, event_id))
        inbox.observe("dead", endpoint, record.type)
        return "dead"
    try:
        if event is None:
            event = Event.from_record(record, ep.mapping.data)
        event.attempt = record.attempts
    except Exception as exc:  # a stored body that no longer parses: nothing to retry
        yield Call(
            store.fail, endpoint, event_id, inbox.clock(), _error_text(exc), None, afn=afail, blocking=store.blocking
        )
        log.error(
            "event %s (%s) could not be rebuilt from the store: %s",
            event_id,
            endpoint,
            type(exc).__name__,
            extra=_ids(endpoint, event_id),
        )
        inbox.observe("dead", endpoint, record.type)
        return "dead"
    handlers = inbox.handlers_for(endpoint, record.type)
    todo = [(name, fn) for name, fn in handlers if name not in record.handlers_done]
    errors: list[str] = []
    for name, fn in todo:
        started = time.perf_counter()
        try:
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
            inbox.observe_time("handler", endpoint, time.perf_counter() - started)
        if len(handlers) > 1:
            yield Call(store.handler_done, endpoint, event_id, name, blocking=store.blocking)
    now = inbox.clock()
    if not errors:
        if store.blocking:
            yield Call(store.complete, endpoint, event_id, now, afn=getattr(store, "acomplete", None), blocking=True)
        else:
            store.complete(endpoint, event_id, now)
        if log.isEnabledFor(logging.DEBUG):  # once per event: skip building the extra dict when nobody listens
            log.debug("event %s (%s) done", event_id, endpoint, extra=_ids(endpoint, event_id))
        inbox.observe("done", endpoint, record.type)
        return "done"
    delay = ep.retry.next_delay(record.attempts, random.random())
    retry_at = None if delay is None else now + delay
    error = "\n".join(errors)[:4000]
    yield Call(store.fail, endpoint, event_id, now, error, retry_at, afn=afail, blocking=store.blocking)
    if retry_at is None:
        log.error(
            "event %s (%s, %s) is dead after %d attempts",
            event_id,
            endpoint,
            record.type,
            record.attempts,
            extra=_ids(endpoint, event_id),
        )
        inbox.observe("dead", endpoint, record.type)
        return "dead"
    log.info(
        "event %s (%s) will be retried in %.3f s", event_id, endpoint, retry_at - now, extra=_ids(endpoint, event_id)
    )
    inbox.observe("retried", endpoint, record.type)
    return "retry"


def release(inbox: Inbox, endpoint: str, event_id: str) -> Flow[None]:
    """Give back a claimed event whose handlers were interrupted (shutdown): due again now.

    Only for handlers that really stopped (a cancelled coroutine); a sync
    handler still running in a thread keeps its lease instead.
    """
    store = inbox.store
    now = inbox.clock()
    rec: EventRecord | None = yield Call(store.get, endpoint, event_id, blocking=store.blocking)
    if rec is not None and rec.status is Status.PROCESSING:
        afail = getattr(store, "afail", None)
        yield Call(
            store.fail, endpoint, event_id, now, "interrupted by shutdown", now, afn=afail, blocking=store.blocking
        )
        log.info("event %s (%s) interrupted by shutdown; released", event_id, endpoint, extra=_ids(endpoint, event_id))


def sweep(inbox: Inbox, submit: Callable[[str, str], bool], *, recover_after: float, limit: int = 500) -> Flow[int]:
    """Find events due now (new but never picked up, failed and due, or abandoned) and submit them.

    Stops at the first refusal (queue full): the rest stay due for the next sweep.
    """
    store = inbox.store
    keys: Sequence[tuple[str, str]] = yield Call(
        store.due, inbox.clock(), recover_after, limit, blocking=store.blocking
    )
    n = 0
    for endpoint, event_id in keys:
        if not submit(endpoint, event_id):
            break
        n += 1
    if n:
        log.info("recovered %d due event(s)", n)
    return n


def maintain(inbox: Inbox) -> Flow[Any]:
    """Retention: drop bodies of finished events past ``retention``; forget done keys past ``dedup_ttl``."""
    store = inbox.store
    now = inbox.clock()
    s = inbox.settings
    dropped = yield Call(store.drop_bodies, now - s.retention, blocking=store.blocking)
    purged = yield Call(store.purge, now - max(s.dedup_ttl, s.retention), (Status.DONE,), blocking=store.blocking)
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
