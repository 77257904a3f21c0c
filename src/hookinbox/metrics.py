"""Prometheus metrics for an inbox (``pip install 'hookinbox[metrics]'``).

::

    from hookinbox import metrics
    metrics.install(inbox)                       # counters and histograms in the default registry
    app = metrics.asgi_app()                     # mount at /metrics (or metrics.wsgi_app())

Metrics, all labelled by ``endpoint``:

* ``hookinbox_events_total{outcome}``: ``accepted``, ``duplicate``, ``done``, ``retried``, ``dead``;
* ``hookinbox_rejected_total{reason}``: ``unauthorized``, ``malformed``, ``too_large``,
  ``queue_full``, ``store_unavailable``, ...;
* ``hookinbox_ack_seconds``: verify, record and hand off, up to the reply;
* ``hookinbox_handler_seconds``: one handler call.

Counted where they happen: deliveries in the web process, outcomes where
handlers run (the Celery/RQ worker for remote executors; install it there
too and scrape it, or use the Prometheus multiprocess mode).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    import prometheus_client as prom
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("hookinbox metrics need prometheus_client: pip install 'hookinbox[metrics]'") from exc

if TYPE_CHECKING:
    from hookinbox.inbox import Inbox

__all__ = ["InboxMetrics", "asgi_app", "install", "wsgi_app"]

ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class InboxMetrics:
    """The collectors, and the observer/timer callbacks that feed them."""

    def __init__(self, registry: Any = None, *, namespace: str = "hookinbox") -> None:
        reg = prom.REGISTRY if registry is None else registry
        self.events = prom.Counter(
            "events", "Events by outcome", ["endpoint", "outcome"], namespace=namespace, registry=reg
        )
        self.rejected = prom.Counter(
            "rejected", "Refused deliveries by reason", ["endpoint", "reason"], namespace=namespace, registry=reg
        )
        self.ack = prom.Histogram(
            "ack_seconds",
            "Time to answer a delivery",
            ["endpoint"],
            namespace=namespace,
            registry=reg,
            buckets=ACK_BUCKETS,
        )
        self.handler = prom.Histogram(
            "handler_seconds",
            "Time of one handler call",
            ["endpoint"],
            namespace=namespace,
            registry=reg,
            buckets=HANDLER_BUCKETS,
        )

        self.processes = prom.Gauge(
            "live_processes",
            "Processes whose heartbeat is recent (durable stores; read from the store at each scrape)",
            namespace=namespace,
            registry=reg,
        )

    def watch_processes(self, inbox: Inbox) -> None:
        """Make the ``live_processes`` gauge count ``inbox``'s store's live processes at each scrape."""
        rt = inbox.runtime

        def live() -> float:
            if not rt.store_built or not rt.store.durable:
                return 1.0 if inbox.liveness.can_claim else 0.0  # the memory store: this process alone
            try:
                horizon = rt.clock() - rt.settings.process_timeout
                return float(sum(1 for p in rt.store.processes() if p.last_heartbeat >= horizon))
            except Exception:
                return float("nan")  # the store did not answer: unknown, not zero

        self.processes.set_function(live)

    def observe(self, what: str, endpoint: str, detail: str) -> None:
        if what == "rejected":
            self.rejected.labels(endpoint, detail).inc()
        else:
            self.events.labels(endpoint, what).inc()

    def time(self, what: str, endpoint: str, seconds: float) -> None:
        if what == "ack":
            self.ack.labels(endpoint).observe(seconds)
        elif what == "handler":
            self.handler.labels(endpoint).observe(seconds)


def install(inbox: Inbox, registry: Any = None, *, namespace: str = "hookinbox") -> InboxMetrics:
    """Count ``inbox``'s deliveries and outcomes in ``registry`` (default: prometheus_client's global one).

    Install once per registry: a second install on the same registry raises
    (Prometheus refuses duplicate metric names); pass the returned object's
    ``observe``/``time`` to more inboxes with ``add_observer``/``add_timer``.
    """
    m = InboxMetrics(registry, namespace=namespace)
    inbox.add_observer(m.observe)
    inbox.add_timer(m.time)
    m.watch_processes(inbox)
    return m


def asgi_app(registry: Any = None) -> Any:
    """An ASGI app serving the registry in the Prometheus text format (mount it at ``/metrics``)."""
    return prom.make_asgi_app(registry=prom.REGISTRY if registry is None else registry)


def wsgi_app(registry: Any = None) -> Any:
    """A WSGI app serving the registry in the Prometheus text format (mount it at ``/metrics``)."""
    return prom.make_wsgi_app(registry=prom.REGISTRY if registry is None else registry)
