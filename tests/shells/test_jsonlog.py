"""JSON log lines: the delivery's fields and its trace ids, in the receive flow and inside handlers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hookinbox.jsonlog import JsonFormatter
from tests.otel_helpers import by_name, capture, release
from tests.seeds import PROVIDERS

from .conftest import Harness

GENERIC = next(p for p in PROVIDERS if p.endpoint == "generic")


@pytest.fixture
def lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Records of every logger, formatted by JsonFormatter; returns the parsed lines."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old)


@pytest.fixture
def spans() -> Iterator[Any]:
    exporter = capture()
    yield exporter
    release()


def test_a_refusal_is_logged_with_endpoint_scheme_and_the_receive_spans_ids(
    harness_factory: Callable[..., Harness], lines: Any, spans: Any
) -> None:
    """The 401's log line carries endpoint, scheme, trace_id and span_id of hookinbox.receive; no secret."""
    h = harness_factory("wsgi")
    body = b'{"id": "evt_x", "type": "order.created", "data": {}}'
    assert h.post(GENERIC.path, body, GENERIC.headers(body, secret="not-the-secret")).status_code == 401
    (receive,) = by_name(spans.get_finished_spans(), "hookinbox.receive")
    (line,) = [x for x in lines() if x["message"].startswith("rejected delivery")]
    assert line["endpoint"] == "generic" and line["scheme"] == "hmac-sha256"
    assert line["trace_id"] == f"{receive.context.trace_id:032x}"
    assert line["span_id"] == f"{receive.context.span_id:016x}"
    assert "not-the-secret" not in json.dumps(lines()) and GENERIC.secret not in json.dumps(lines())


def test_a_handlers_own_log_lines_carry_the_event_and_the_handler_span(
    shell: str, harness_factory: Callable[..., Harness], lines: Any, spans: Any
) -> None:
    """logging inside a handler: event id and type, handler name, attempt, and the handler span's ids."""
    h = harness_factory(shell)

    @h.inbox.on("order.created")
    def note(event: Any) -> None:
        logging.getLogger("myapp").info("charging order")

    body = b'{"id": "evt_log", "type": "order.created", "data": {}}'
    assert h.post(GENERIC.path, body, GENERIC.headers(body)).status_code == 200
    h.wait_settled(1)
    mine = [s for s in by_name(spans.get_finished_spans(), "hookinbox.handler") if s.attributes["hookinbox.handler"].endswith("note")]
    (line,) = [x for x in lines() if x["message"] == "charging order"]
    assert line["logger"] == "myapp"
    assert line["event_id"] == "evt_log" and line["event_type"] == "order.created" and line["endpoint"] == "generic"
    assert line["handler"].endswith("note") and line["attempt"] == 1
    assert (line["trace_id"], line["span_id"]) == (f"{mine[0].context.trace_id:032x}", f"{mine[0].context.span_id:016x}")


def test_values_are_escaped_so_an_id_cannot_forge_a_line(
    harness_factory: Callable[..., Harness], lines: Any
) -> None:
    """An event id with a newline and quotes stays inside its JSON string: one line, parsed back exactly."""
    h = harness_factory("wsgi")
    nasty = 'evt"\n{"level": "CRITICAL"}'

    @h.inbox.on("order.created")
    def note(event: Any) -> None:
        logging.getLogger("myapp").warning("got %s", event.id)

    body = json.dumps({"id": nasty, "type": "order.created", "data": {}}).encode()
    assert h.post(GENERIC.path, body, GENERIC.headers(body)).status_code == 200
    h.wait_settled(1)
    (line,) = [x for x in lines() if x["logger"] == "myapp"]
    assert line["event_id"] == nasty and line["message"] == f"got {nasty}"
    assert not any(x.get("level") == "CRITICAL" for x in lines())


def test_extra_fields_and_exceptions_are_included() -> None:
    """``extra=`` fields become keys; an exception is one escaped string; the time is UTC ISO 8601."""
    fmt = JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("hookinbox", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info())
    record.event_id = "evt_1"
    out = json.loads(fmt.format(record))
    assert out["message"] == "failed x" and out["event_id"] == "evt_1" and out["level"] == "ERROR"
    assert out["exception"].startswith("Traceback") and "ValueError: boom" in out["exception"]
    assert out["time"].endswith("Z") and out["time"][10] == "T"
