"""Metrics: Prometheus counters and latency histograms fed by the inbox's observers and timers."""

from __future__ import annotations

from execution_helpers import PATH, delivery, settings
from tests.conftest import require_module
from tests.toolkit import wait_status
from werkzeug.test import Client

from hookinbox import Inbox, Status
from hookinbox.events import Event
from hookinbox.wsgi import WebhookMiddleware as WsgiMiddleware

prom = require_module("prometheus_client")

from hookinbox import metrics  # noqa: E402


def value(registry: object, name: str, **labels: str) -> float:
    got = registry.get_sample_value(name, labels)  # type: ignore[attr-defined]
    return 0.0 if got is None else float(got)


def test_install_counts_outcomes_rejections_and_latencies() -> None:
    """accepted, duplicate, rejected{reason}, retried, done and both histograms are counted per endpoint."""
    registry = prom.CollectorRegistry()
    ib = Inbox.from_settings(settings())
    metrics.install(ib, registry)
    calls: list[int] = []

    def flaky(event: Event) -> None:
        calls.append(event.attempt)
        if event.attempt == 1:
            raise RuntimeError("once")

    ib.add_handler(flaky)
    client = Client(WsgiMiddleware(None, ib))
    body, headers = delivery("m1")
    assert client.post(PATH, data=body, headers=headers).status_code == 200
    assert client.post(PATH, data=body, headers=headers).get_json()["duplicate"] is True
    assert client.post(PATH, data=body, headers={**headers, "X-Webhook-Signature": "bad"}).status_code == 401
    wait_status(ib, "m1", Status.DONE)
    ib.close()
    ep = {"endpoint": "generic"}
    assert value(registry, "hookinbox_events_total", outcome="accepted", **ep) == 1
    assert value(registry, "hookinbox_events_total", outcome="duplicate", **ep) == 1
    assert value(registry, "hookinbox_events_total", outcome="retried", **ep) == 1
    assert value(registry, "hookinbox_events_total", outcome="done", **ep) == 1
    assert value(registry, "hookinbox_rejected_total", reason="unauthorized", **ep) == 1
    assert value(registry, "hookinbox_ack_seconds_count", **ep) == 3
    assert value(registry, "hookinbox_handler_seconds_count", **ep) == 2


def test_metrics_app_serves_the_prometheus_text_format() -> None:
    """metrics.wsgi_app() answers /metrics with the registry in the text exposition format."""
    registry = prom.CollectorRegistry()
    ib = Inbox.from_settings(settings())
    metrics.install(ib, registry)
    ib.observe("dead", "generic", "order.created")
    resp = Client(metrics.wsgi_app(registry)).get("/metrics")
    assert resp.status_code == 200
    assert 'hookinbox_events_total{endpoint="generic",outcome="dead"} 1.0' in resp.get_data(as_text=True)


def test_a_failing_observer_never_breaks_a_delivery() -> None:
    """An observer or timer that raises is ignored: the delivery is still answered 200."""
    ib = Inbox.from_settings(settings())

    def boom(*args: object) -> None:
        raise RuntimeError("observer bug")

    ib.add_observer(boom)
    ib.add_timer(boom)
    body, headers = delivery("m2")
    assert Client(WsgiMiddleware(None, ib)).post(PATH, data=body, headers=headers).status_code == 200
    ib.close()
