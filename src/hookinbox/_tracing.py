"""Traces (OpenTelemetry) and the per-delivery log fields, at no cost when neither is wanted.

``opentelemetry-api`` is imported once, here, at import time: :data:`OTEL` says whether it is
installed. :data:`ACTIVE` is the one flag the flows check (a module attribute read per delivery);
it is true when the API is installed or when :class:`hookinbox.jsonlog.JsonFormatter` was built
(then the flows fill the log fields even without OpenTelemetry). When it is false the flows run
exactly as before: no wrapper, no context variable, no import attempt. When it is true but no
tracer provider was installed (the API alone, e.g. as a FastAPI dependency) and no JSON logs were
asked for, the wrappers step aside after one check (:func:`tracing`).

Two spans:

* ``hookinbox.receive`` around verify, de-duplicate, record and hand-off (the :func:`traced_receive`
  proxy around :func:`hookinbox.core.receive`'s flow). Attributes: endpoint, scheme, event type, event
  id, outcome, HTTP status; never the body, a header value or a secret. Its context is written into the
  event's kept headers as W3C ``traceparent``/``tracestate`` (:func:`note_headers`), so every store and
  every Celery/RQ worker carries it with no schema change.
* ``hookinbox.handler``, one per handler attempt, whose parent is read back from those headers
  (:func:`traced_process` around one event's processing, :func:`handler_call` around one handler).

The proxies make the span current (and set the log fields) only while the wrapped flow's own code
runs, one step at a time: attach and detach always happen in the same thread and context, whichever
driver runs the flow, and nothing leaks into the calls the driver performs between the steps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, MutableMapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from hookinbox.drive import Call, Flow, is_async_callable

if TYPE_CHECKING:
    from hookinbox.events import Event, EventRecord
    from hookinbox.settings import EndpointSettings

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    OTEL = True
except ImportError:  # the `otel` extra is not installed
    OTEL = False

__all__ = [
    "ACTIVE",
    "OTEL",
    "current_ids",
    "enable_log_fields",
    "handler_call",
    "log_fields",
    "note_event",
    "note_headers",
    "traced_process",
    "traced_receive",
    "tracing",
]

#: checked by the flows once per delivery / event; see the module docstring
ACTIVE: bool = OTEL

#: the structured fields of the delivery or event being handled in this context (JSON logs read them)
_fields: ContextVar[dict[str, Any] | None] = ContextVar("hookinbox_log_fields", default=None)

#: the two headers carrying the receive span to the handlers (W3C Trace Context)
TRACE_HEADERS = ("traceparent", "tracestate")

if OTEL:
    _tracer = trace.get_tracer("hookinbox")  # a proxy: follows a provider set later by the application
    _propagator = TraceContextTextMapPropagator()
    _ERROR = trace.StatusCode.ERROR


#: JSON logs were asked for: fill the log fields even when no span is made
_LOG_FIELDS = False
#: a tracer provider was installed (it cannot be uninstalled, so once seen it is remembered)
_PROVIDER = False


def enable_log_fields() -> None:
    """Have the flows fill the log fields even without OpenTelemetry (JSON logging asked for)."""
    global ACTIVE, _LOG_FIELDS
    ACTIVE = _LOG_FIELDS = True


def tracing() -> bool:
    """True once the application installed a tracer provider (the OpenTelemetry SDK, say).

    With the API alone (FastAPI, for one, depends on it) every span would be a no-op: the flows then
    skip the wrappers, so an installed but unused ``opentelemetry-api`` costs one call per delivery.
    """
    global _PROVIDER
    if not _PROVIDER and OTEL:
        _PROVIDER = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    return _PROVIDER


def log_fields() -> dict[str, Any] | None:
    """The fields of the delivery or handler running in this context, if any."""
    return _fields.get()


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the current span, when there is a valid one."""
    if not OTEL:
        return None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def _scheme(endpoint: EndpointSettings) -> str:
    scheme = getattr(endpoint.verifier, "scheme", None)
    if scheme is None and endpoint.preset is not None:
        scheme = endpoint.preset.verify.get("scheme")
    return str(scheme or type(endpoint.verifier).__name__)


# -- receive --------------------------------------------------------------------------------------


def _steps(flow: Flow[Any], fields: dict[str, Any], ctx: Any) -> Generator[Call, Any, Any]:
    """Run ``flow`` step by step with ``fields`` (and the OpenTelemetry context ``ctx``) current."""
    value: Any = None
    error: BaseException | None = None
    while True:
        token = _fields.set(fields)
        otoken = otel_context.attach(ctx) if ctx is not None else None
        try:
            op = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            return stop.value
        finally:
            if otoken is not None:
                otel_context.detach(otoken)
            _fields.reset(token)
        try:
            value, error = (yield op), None
        except Exception as exc:  # the driver's call failed: hand it to the flow, as the driver would
            value, error = None, exc
        except BaseException:  # closed (GeneratorExit): close the wrapped flow now, as `yield from` would
            flow.close()
            raise


def traced_receive(flow: Flow[Any], endpoint: EndpointSettings) -> Flow[Any]:
    """``flow`` (core's receive) inside a ``hookinbox.receive`` span; its reply's status is recorded."""
    if not tracing():
        if not _LOG_FIELDS:
            return (yield from flow)
        return (yield from _steps(flow, {"endpoint": endpoint.name, "scheme": _scheme(endpoint)}, None))
    fields: dict[str, Any] = {"endpoint": endpoint.name, "scheme": _scheme(endpoint)}
    span = _tracer.start_span(
        "hookinbox.receive",
        attributes={"hookinbox.endpoint": fields["endpoint"], "hookinbox.scheme": fields["scheme"]},
    )
    try:
        reply = yield from _steps(flow, fields, trace.set_span_in_context(span))
    except BaseException as exc:
        if span.is_recording():
            span.record_exception(exc)
            span.set_status(_ERROR, type(exc).__name__)
        span.end()
        raise
    if span.is_recording():
        status = int(reply.status)
        outcome = "accepted"
        if status != 200:
            outcome = "rejected"
            span.set_status(_ERROR, _error_code(reply.body))
        elif b'"duplicate"' in reply.body:
            outcome = "duplicate"
        span.set_attributes({"http.response.status_code": status, "hookinbox.outcome": outcome})
    span.end()
    return reply


def _error_code(body: bytes) -> str:
    try:
        return str(json.loads(body).get("error", ""))
    except (ValueError, AttributeError):
        return ""


def note_event(event_type: str, event_id: str) -> None:
    """Inside the receive flow: the event's type and id are known (span attributes, log fields)."""
    fields = _fields.get()
    if fields is not None:
        fields["event_type"] = event_type
        fields["event_id"] = event_id
    if _PROVIDER:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes({"hookinbox.event.type": event_type, "hookinbox.event.id": event_id})


def note_headers(kept: MutableMapping[str, str]) -> None:
    """Inside the receive flow: put the receive span's context into the headers kept with the event.

    When traces are on, a ``traceparent`` the sender sent is replaced (or dropped when the span is
    not sampled), so the one stored is always the receive span's and the handler spans hang under it.
    """
    if not _PROVIDER:  # nothing traced here: the headers stay as sent
        return
    for name in TRACE_HEADERS:
        kept.pop(name, None)
    _propagator.inject(kept)


# -- process --------------------------------------------------------------------------------------


def traced_process(flow: Flow[Any], record: EventRecord) -> Flow[Any]:
    """One event's processing with its log fields, under the receive span's context from its headers."""
    on = tracing()
    if not on and not _LOG_FIELDS:
        return (yield from flow)
    fields: dict[str, Any] = {
        "endpoint": record.endpoint,
        "event_id": record.id,
        "event_type": record.type,
        "attempt": record.attempts,
    }
    ctx = None
    if on and "traceparent" in record.headers:
        ctx = _propagator.extract({k: record.headers[k] for k in TRACE_HEADERS if k in record.headers})
    return (yield from _steps(flow, fields, ctx))


def handler_call(fn: Callable[..., Any], name: str, event: Event) -> Call:
    """The driver call running handler ``fn`` on ``event`` inside its ``hookinbox.handler`` span.

    The span starts where the handler runs (a worker thread, the event loop), with the context that
    is current where this is called (set by :func:`traced_process`) as its parent.
    """
    on = _PROVIDER
    if not on and not _LOG_FIELDS:
        return Call(fn, event, blocking=not is_async_callable(fn))
    fields = dict(_fields.get() or {})
    fields["handler"] = name
    parent = otel_context.get_current() if on else None
    if is_async_callable(fn):
        return Call(_AsyncHandler(fn, name, fields, parent, on), event)
    return Call(_SyncHandler(fn, name, fields, parent, on), event, blocking=True)


class _SyncHandler:
    __slots__ = ("fields", "fn", "name", "on", "parent")

    def __init__(self, fn: Callable[..., Any], name: str, fields: dict[str, Any], parent: Any, on: bool) -> None:
        self.fn, self.name, self.fields, self.parent, self.on = fn, name, fields, parent, on

    def __call__(self, event: Event) -> Any:
        token = _fields.set(self.fields)
        try:
            if not self.on:
                return self.fn(event)
            with _handler_span(self.name, self.fields, self.parent):
                return self.fn(event)
        finally:
            _fields.reset(token)


class _AsyncHandler(_SyncHandler):
    __slots__ = ()

    async def __call__(self, event: Event) -> Any:  # type: ignore[override]
        token = _fields.set(self.fields)
        try:
            if not self.on:
                return await self.fn(event)
            with _handler_span(self.name, self.fields, self.parent):
                return await self.fn(event)
        finally:
            _fields.reset(token)


def _handler_span(name: str, fields: dict[str, Any], parent: Any) -> Any:
    return _tracer.start_as_current_span(
        "hookinbox.handler",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "hookinbox.endpoint": fields.get("endpoint", ""),
            "hookinbox.event.type": fields.get("event_type", ""),
            "hookinbox.event.id": fields.get("event_id", ""),
            "hookinbox.handler": name,
            "hookinbox.attempt": int(fields.get("attempt") or 1),
        },
    )
