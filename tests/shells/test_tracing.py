"""OpenTelemetry through both doors: a receive span per delivery, a handler span per attempt under it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hookinbox import Status, _tracing
from tests.otel_helpers import by_name, capture, release
from tests.seeds import PROVIDERS
from tests.toolkit import wait_for

from .conftest import Harness

GENERIC = next(p for p in PROVIDERS if p.endpoint == "generic")


@pytest.fixture
def spans() -> Iterator[Any]:
    exporter = capture()
    yield exporter
    release()


def deliver(h: Harness, event_id: str, event_type: str = "order.created") -> tuple[bytes, Any]:
    body = json.dumps({"id": event_id, "type": event_type, "created_at": "2026-01-01T00:00:00Z", "data": {"n": 1}})
    raw = body.encode()
    return raw, h.post(GENERIC.path, raw, GENERIC.headers(raw))


def finished(spans: Any, name: str, n: int, h: Harness) -> list[Any]:
    """Spans end after the store settles: wait for them too (no timing is asserted)."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = by_name(spans.get_finished_spans(), name)
        if len(got) >= n:
            return got
        time.sleep(0.01)
    raise AssertionError(f"{name}: {[s.name for s in spans.get_finished_spans()]}")


def test_one_delivery_gives_a_receive_span_and_a_handler_span_whose_parent_it_is(
    shell: str, harness_factory: Callable[..., Harness], spans: Any
) -> None:
    """One delivery → hookinbox.receive (endpoint, scheme, type, id, outcome) → hookinbox.handler as its child."""
    h = harness_factory(shell)
    _, resp = deliver(h, "evt_trace_1")
    assert resp.status_code == 200
    h.wait_settled(1)
    (receive,) = finished(spans, "hookinbox.receive", 1, h)
    (handler,) = finished(spans, "hookinbox.handler", 1, h)
    attrs = dict(receive.attributes)
    assert attrs == {
        "hookinbox.endpoint": "generic",
        "hookinbox.scheme": "hmac-sha256",
        "hookinbox.event.type": "order.created",
        "hookinbox.event.id": "evt_trace_1",
        "hookinbox.outcome": "accepted",
        "http.response.status_code": 200,
    }
    assert handler.parent is not None
    assert handler.parent.span_id == receive.context.span_id
    assert handler.context.trace_id == receive.context.trace_id
    assert handler.attributes["hookinbox.event.id"] == "evt_trace_1"
    assert handler.attributes["hookinbox.attempt"] == 1
    assert handler.attributes["hookinbox.handler"].endswith("Recorder")
    # never the body nor the secret in any attribute
    for span in (receive, handler):
        for value in span.attributes.values():
            assert GENERIC.secret not in str(value) and '"data"' not in str(value)


def test_the_handler_runs_with_its_span_current(
    shell: str, harness_factory: Callable[..., Harness], spans: Any
) -> None:
    """Inside a handler the current span is hookinbox.handler, so its own spans and logs hang under it."""
    from opentelemetry import trace

    h = harness_factory(shell)
    seen: list[tuple[int, int]] = []

    @h.inbox.on("order.created")
    def look(event: Any) -> None:
        ctx = trace.get_current_span().get_span_context()
        seen.append((ctx.trace_id, ctx.span_id))

    assert deliver(h, "evt_trace_2")[1].status_code == 200
    h.wait_settled(1)
    handlers = finished(spans, "hookinbox.handler", 2, h)
    mine = [s for s in handlers if s.attributes["hookinbox.handler"].endswith("look")]
    assert seen == [(mine[0].context.trace_id, mine[0].context.span_id)]


def test_the_receive_span_hangs_under_the_request_span(harness_factory: Callable[..., Harness], spans: Any) -> None:
    """A span current when the delivery arrives (an HTTP server instrumentation's) is the receive span's parent."""
    from opentelemetry import trace

    h = harness_factory("wsgi")  # werkzeug's client calls the app in this thread, inside the span
    with trace.get_tracer("test").start_as_current_span("POST /webhooks/generic") as outer:
        assert deliver(h, "evt_trace_3")[1].status_code == 200
    h.wait_settled(1)
    (receive,) = finished(spans, "hookinbox.receive", 1, h)
    (handler,) = finished(spans, "hookinbox.handler", 1, h)
    assert receive.parent.span_id == outer.get_span_context().span_id
    assert handler.parent.span_id == receive.context.span_id


def test_a_rejected_delivery_has_an_error_receive_span_and_no_handler_span(
    shell: str, harness_factory: Callable[..., Harness], spans: Any
) -> None:
    """A bad signature: receive span with status 401, outcome rejected, error status; no handler runs."""
    from opentelemetry.trace import StatusCode

    h = harness_factory(shell)
    body = b'{"id": "evt_bad", "type": "order.created", "data": {}}'
    resp = h.post(GENERIC.path, body, GENERIC.headers(body, secret="wrong"))
    assert resp.status_code == 401
    (receive,) = finished(spans, "hookinbox.receive", 1, h)
    assert receive.attributes["hookinbox.outcome"] == "rejected"
    assert receive.attributes["http.response.status_code"] == 401
    assert receive.status.status_code is StatusCode.ERROR and receive.status.description == "unauthorized"
    assert "hookinbox.event.id" not in receive.attributes  # the body is not parsed before verification
    assert by_name(spans.get_finished_spans(), "hookinbox.handler") == []


def test_a_duplicate_is_traced_as_such_and_not_handled_again(
    shell: str, harness_factory: Callable[..., Harness], spans: Any
) -> None:
    """The second delivery of one event: a receive span with outcome duplicate; one handler span in all."""
    h = harness_factory(shell)
    assert deliver(h, "evt_dup")[1].status_code == 200
    h.wait_settled(1)
    assert deliver(h, "evt_dup")[1].json() == {"received": True, "duplicate": True}
    receives = finished(spans, "hookinbox.receive", 2, h)
    assert [s.attributes["hookinbox.outcome"] for s in receives] == ["accepted", "duplicate"]
    assert len(by_name(spans.get_finished_spans(), "hookinbox.handler")) == 1


def test_each_handler_attempt_has_its_span_under_the_same_receive_span(
    shell: str, harness_factory: Callable[..., Harness], spans: Any
) -> None:
    """A handler that fails once: two handler spans (attempt 1 with the error, attempt 2 ok), one parent."""
    from opentelemetry.trace import StatusCode

    h = harness_factory(shell, retry_delay="10ms")
    calls: list[int] = []

    @h.inbox.on("order.flaky")
    def flaky(event: Any) -> None:
        calls.append(event.attempt)
        if event.attempt == 1:
            raise RuntimeError("first attempt fails")

    assert deliver(h, "evt_flaky", "order.flaky")[1].status_code == 200
    wait_for(lambda: h.inbox.store.get("generic", "evt_flaky").status is Status.FAILED)
    h.clock.now += 1  # past the retry delay
    h.wait_settled(1)
    (receive,) = finished(spans, "hookinbox.receive", 1, h)
    attempts = [
        s for s in finished(spans, "hookinbox.handler", 3, h) if s.attributes["hookinbox.handler"].endswith("flaky")
    ]
    assert [s.attributes["hookinbox.attempt"] for s in attempts] == [1, 2]
    assert [s.status.status_code for s in attempts] == [StatusCode.ERROR, StatusCode.UNSET]
    assert attempts[0].events[0].name == "exception"
    assert {s.parent.span_id for s in attempts} == {receive.context.span_id}


def test_the_stored_event_carries_the_receive_spans_traceparent(
    harness_factory: Callable[..., Harness], spans: Any
) -> None:
    """traceparent in the kept headers is the receive span's (a sender's own traceparent is replaced)."""
    h = harness_factory("wsgi")
    raw = b'{"id": "evt_tp", "type": "order.created", "data": {}}'
    sent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert h.post(GENERIC.path, raw, {**GENERIC.headers(raw), "traceparent": sent}).status_code == 200
    (receive,) = finished(spans, "hookinbox.receive", 1, h)
    stored = h.inbox.store.get("generic", "evt_tp").headers["traceparent"]
    ctx = receive.context
    assert stored.startswith(f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-") and stored != sent


def test_without_tracing_nothing_is_wrapped_nor_stored(
    harness_factory: Callable[..., Harness], spans: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the flag off (no opentelemetry-api, no JSON logs) no span is made and headers are kept as sent."""
    monkeypatch.setattr(_tracing, "ACTIVE", False)
    h = harness_factory("wsgi")
    raw = b'{"id": "evt_off", "type": "order.created", "data": {}}'
    assert h.post(GENERIC.path, raw, GENERIC.headers(raw)).status_code == 200
    h.wait_settled(1)
    assert spans.get_finished_spans() == ()
    assert "traceparent" not in h.inbox.store.get("generic", "evt_off").headers


def test_closing_a_traced_flow_closes_the_flow_it_wraps(spans: Any) -> None:
    """A driver that abandons a traced flow (close) closes the inner flow at once, as `yield from` does."""
    from hookinbox.drive import Call

    closed: list[bool] = []

    def inner() -> Any:
        try:
            yield Call(print)
        finally:
            closed.append(True)

    record = type("R", (), {"endpoint": "e", "id": "i", "type": "t", "attempts": 1, "headers": {}})()
    wrapped = inner()  # kept referenced: only an explicit close runs its finally now
    flow = _tracing.traced_process(wrapped, record)  # type: ignore[arg-type]
    next(flow)
    flow.close()
    assert closed == [True]
