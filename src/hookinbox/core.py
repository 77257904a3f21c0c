"""The sans-IO receiving core: from a neutral request to a neutral reply.

Frameworks appear nowhere here. A shell (ASGI, WSGI, Django, Flask) does only
this::

    reply = precheck(endpoint, method, content_length)      # before reading the body
    ... read at most endpoint.max_body bytes ...            # shell I/O
    reply = inbox.receive(endpoint, headers, body)           # or await inbox.areceive(...)

and turns :class:`Reply` into its framework's response. Verification,
parsing, id derivation, recording, hand-off and the choice of status all live
in :func:`receive`, once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hookinbox import _tracing
from hookinbox.drive import Call, Flow, store_call
from hookinbox.envelope import parse_object
from hookinbox.errors import (
    MalformedPayload,
    MethodNotAllowed,
    PayloadTooLarge,
    QueueFull,
    Rejected,
    StoreUnavailable,
    Unavailable,
)
from hookinbox.events import Event, EventRecord
from hookinbox.executors import Executor
from hookinbox.settings import EndpointSettings
from hookinbox.verifiers.tenant import TenantVerifier

if TYPE_CHECKING:
    from hookinbox.runtime import Runtime

__all__ = ["ACK", "DUPLICATE", "LOG_BODY_LIMIT", "Reply", "precheck", "receive", "reply_for"]

log = logging.getLogger("hookinbox")

#: With ``log_bodies``, the most of a body that is logged (bytes); the rest is cut with a note.
LOG_BODY_LIMIT = 2048


@dataclass(frozen=True, slots=True)
class Reply:
    """A framework-neutral HTTP answer."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    #: the same headers, encoded once, for ASGI
    raw_headers: tuple[tuple[bytes, bytes], ...] = field(default=(), compare=False)

    @classmethod
    def json(cls, status: int, obj: object, extra: tuple[tuple[str, str], ...] = ()) -> Reply:
        body = json.dumps(obj, separators=(", ", ": ")).encode()
        headers = (("content-type", "application/json"), ("content-length", str(len(body))), *extra)
        raw = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)
        return cls(status, body, headers, raw)


ACK = Reply.json(200, {"received": True})
DUPLICATE = Reply.json(200, {"received": True, "duplicate": True})


def reply_for(exc: Rejected) -> Reply:
    """The one place where a refusal becomes an HTTP status and body."""
    extra: tuple[tuple[str, str], ...] = ()
    if isinstance(exc, Unavailable):
        extra = (("retry-after", str(exc.retry_after)),)
    elif isinstance(exc, MethodNotAllowed):
        extra = (("allow", "POST"),)
    return Reply.json(exc.status, {"error": exc.code, "detail": exc.detail}, extra)


_METHOD_NOT_ALLOWED = reply_for(MethodNotAllowed("webhook endpoints accept POST only"))


def precheck(endpoint: EndpointSettings, method: str, content_length: str | None) -> Reply | None:
    """Refuse before reading the body: wrong method (405), declared size over the limit (413)."""
    if method != "POST":
        return _METHOD_NOT_ALLOWED
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            return reply_for(MalformedPayload(f"invalid Content-Length {content_length[:40]!r}"))
        if declared > endpoint.max_body:
            return too_large(endpoint)
    return None


def too_large(endpoint: EndpointSettings) -> Reply:
    return reply_for(PayloadTooLarge(f"body is larger than {endpoint.max_body} bytes"))


def receive(
    rt: Runtime,
    endpoint: EndpointSettings,
    headers: Mapping[str, str],
    body: bytes,
    executor: Executor,
) -> Flow[Reply]:
    """Verify, parse, record and hand off one delivery; returns the reply.

    ``headers`` must have lower-cased names. The signature is checked on the
    exact ``body`` before it is parsed. 200 is answered only once the event is
    recorded (and, for a store that is not durable, queued). The time it takes
    is reported to the runtime's timers as ``ack``.

    Calls that do I/O (a durable store, a remote executor) are yielded to the
    driver; the memory store and the in-process executors never block, so
    they are called directly (a driver round trip costs more than they do).
    """
    started = time.perf_counter()
    flow = _receive(rt, endpoint, headers, body, executor)
    if _tracing.ACTIVE:  # OpenTelemetry installed or JSON logs on: a span and the log fields around it
        flow = _tracing.traced_receive(flow, endpoint)
    try:
        return (yield from flow)
    finally:
        rt.observe_time("ack", endpoint.name, time.perf_counter() - started)


def _receive(
    rt: Runtime,
    endpoint: EndpointSettings,
    headers: Mapping[str, str],
    body: bytes,
    executor: Executor,
) -> Flow[Reply]:
    now = rt.clock()
    envelope = endpoint.envelope
    try:
        verifier = endpoint.verifier
        if isinstance(verifier, TenantVerifier):  # per-tenant secrets: looked up (maybe I/O) by the driver
            verifier = yield from verifier.resolve(headers, body, now)
        verifier.verify(headers, body, now)
        payload = parse_object(body)
        handshake = getattr(endpoint.verifier, "handshake", None)
        answer = handshake(payload, headers) if handshake is not None else None
        if answer is not None:  # e.g. Slack's url_verification: answered, not an event
            log.info("answered a handshake on %s", endpoint.name)
            return Reply.json(200, answer)
        event_type = envelope.event_type(payload, headers)
        event_id = envelope.event_id(payload, headers, body, event_type)
        timestamp = envelope.event_timestamp(payload)
        if _tracing.ACTIVE:
            _tracing.note_event(event_type, event_id)
    except Rejected as exc:
        log.info("rejected delivery to %s: %s %s", endpoint.name, exc.status, exc.detail)
        rt.observe("rejected", endpoint.name, exc.code)
        return reply_for(exc)
    sensitive = endpoint.sensitive_headers
    kept = {k: v for k, v in headers.items() if k not in sensitive}
    if _tracing.ACTIVE:  # the receive span's traceparent rides with the event to the handlers
        _tracing.note_headers(kept)
    record = EventRecord(
        endpoint=endpoint.name,
        id=event_id,
        type=event_type,
        body=body if endpoint.store_payload else None,
        headers=kept,
        received_at=now,
        timestamp=timestamp,
    )
    if endpoint.ordering is not None:  # ordering by resource: the resource and the event's place in time
        place = endpoint.ordering.place(payload, headers)
        if place is not None:
            record.order_key, record.order_seq = place
        else:
            log.debug("event %s (%s) names no resource or time to order by: unordered", event_id, endpoint.name)
    store = rt.store
    try:
        new = yield from store_call(store, store.record, store.arecord, record)
    except Unavailable as exc:
        rt.overload_log.warning(
            (endpoint.name, exc.code), "could not record event %s (%s): %s", event_id, endpoint.name, exc.code
        )
        rt.observe("rejected", endpoint.name, exc.code)
        return reply_for(exc)
    except Exception as exc:  # never the message: driver errors may quote the SQL parameters (the body)
        rt.overload_log.warning(
            (endpoint.name, "store_unavailable"),
            "store unavailable recording event %s (%s): %s",
            event_id,
            endpoint.name,
            type(exc).__name__,
        )
        rt.observe("rejected", endpoint.name, "store_unavailable")
        return reply_for(StoreUnavailable("the event could not be recorded", retry_after=rt.settings.retry_after))
    if not new:
        log.debug("duplicate event %s (%s)", event_id, endpoint.name)
        rt.observe("duplicate", endpoint.name, event_type)
        return DUPLICATE
    event = Event(
        id=event_id,
        type=event_type,
        endpoint=endpoint.name,
        data=envelope.event_data(payload),
        payload=payload,
        headers=kept,
        received_at=now,
        timestamp=record.timestamp,
        body=body,
    )
    if executor.remote:  # publishing to a broker is I/O: kept off the event loop
        queued = yield Call(executor.submit, endpoint.name, event_id, event, blocking=True)
    else:
        queued = executor.submit(endpoint.name, event_id, event)
    if not queued and not store.durable:
        # Not kept anywhere that survives: forget it so the sender's retry is not a duplicate.
        store.discard(endpoint.name, event_id)
        rt.overload_log.warning(
            (endpoint.name, "queue_full"), "queue full; refused event %s (%s) with 503", event_id, endpoint.name
        )
        rt.observe("rejected", endpoint.name, "queue_full")
        return reply_for(QueueFull("the processing queue is full", retry_after=rt.settings.retry_after))
    if log.isEnabledFor(logging.DEBUG):  # per delivery: DEBUG only (counts are in the metrics)
        log.debug("accepted event %s (%s, %s)", event_id, endpoint.name, event_type)
    if rt.settings.log_bodies:  # opt-in only: these are medical and payment events
        log.debug("body of event %s (%s): %s", event_id, endpoint.name, _body_for_log(body))
    rt.observe("accepted", endpoint.name, event_type)
    return ACK


def _body_for_log(body: bytes) -> str:
    """At most :data:`LOG_BODY_LIMIT` bytes of ``body`` as text (the log filter escapes control characters)."""
    if len(body) <= LOG_BODY_LIMIT:
        return body.decode("utf-8", "replace")
    return body[:LOG_BODY_LIMIT].decode("utf-8", "replace") + f"... ({len(body)} bytes, cut at {LOG_BODY_LIMIT})"
