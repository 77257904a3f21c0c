"""Celery executor: each accepted event becomes a Celery task; handlers run in Celery workers.

Web side (settings)::

    [hookinbox]
    store = "postgresql+psycopg://..."       # shared by web processes and workers
    executor = "celery"
    executor_options = { broker = "amqp://guest:guest@rabbit//", queue = "hookinbox" }

or ``executor_options = { app = "myproj.celery:app" }`` to publish through
your own Celery app (then call :func:`register` on it in the worker).

Worker side::

    HOOKINBOX_SETTINGS=hookinbox.toml celery -A hookinbox.executors.celery worker -Q hookinbox

The task carries only ``(endpoint, event_id)``; the worker loads the event
from the shared store (:mod:`hookinbox.executors.worker`) and starts a
sweeper thread when it is ready.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

try:
    import celery
    from celery import signals
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("the celery executor needs Celery: pip install 'hookinbox[celery]'") from exc

from hookinbox.executors.worker import RemoteExecutor, Sweeper, check_options, load_inbox, process_event
from hookinbox.handlers import import_handler

if TYPE_CHECKING:
    from hookinbox.runtime import Runtime

__all__ = ["TASK_NAME", "CeleryExecutor", "make_app", "register"]

log = logging.getLogger("hookinbox.executor")

TASK_NAME = "hookinbox.process"
DEFAULT_QUEUE = "hookinbox"

#: built on first access by ``celery -A hookinbox.executors.celery`` (see :func:`__getattr__`)
app: celery.Celery


class CeleryExecutor(RemoteExecutor):
    """Publishes ``hookinbox.process(endpoint, event_id)`` to a Celery queue; never runs handlers."""

    broker = "Celery"

    def __init__(self, app: celery.Celery, *, queue: str = DEFAULT_QUEUE, task_name: str = TASK_NAME) -> None:
        self.app = app
        self.queue = queue
        self.task_name = task_name

    @classmethod
    def from_runtime(cls, rt: Runtime) -> CeleryExecutor:
        """Options: ``broker`` (URL) or ``app`` (``module:app``), ``queue``, ``task_name``."""
        opts = rt.settings.executor_options
        check_options(opts, ("broker", "app", "queue", "task_name"), "celery")
        if "app" in opts:
            app = import_handler(str(opts["app"]), key="hookinbox.executor_options.app")
        else:
            app = make_app(broker=opts.get("broker"), queue=str(opts.get("queue", DEFAULT_QUEUE)), worker=False)
        return cls(app, queue=str(opts.get("queue", DEFAULT_QUEUE)), task_name=str(opts.get("task_name", TASK_NAME)))

    def publish(self, endpoint: str, event_id: str) -> None:
        self.app.send_task(self.task_name, args=(endpoint, event_id), queue=self.queue, retry=False)

    def close(self) -> None:
        """Release broker connections (nothing runs here to drain)."""
        self.app.close()


def make_app(broker: str | None = None, *, queue: str = DEFAULT_QUEUE, worker: bool = True) -> celery.Celery:
    """A Celery app for hookinbox alone: the ``hookinbox.process`` task on ``queue``, results ignored."""
    app = celery.Celery("hookinbox", broker=broker, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_ignore_result=True,
        task_acks_late=True,  # a worker dying mid-task: the broker redelivers (the claim makes it safe)
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
    )
    if worker:
        register(app)
    else:  # publisher in a web process: a broker that is down must not hold the request for long
        app.conf.update(
            broker_connection_timeout=2.0,
            broker_transport_options={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
        )
    return app


def register(app: celery.Celery, inbox_ref: str | None = None, *, sweeper: bool = True) -> None:
    """Add the ``hookinbox.process`` task (and a sweeper started when the worker is ready) to ``app``."""

    @app.task(name=TASK_NAME, ignore_result=True, acks_late=True)  # type: ignore[untyped-decorator]
    def _process(endpoint: str, event_id: str) -> str:
        if inbox_ref is not None:
            load_inbox(inbox_ref)
        return process_event(endpoint, event_id)

    if sweeper:

        def _start(sender: Any = None, **kwargs: Any) -> None:
            if getattr(sender, "app", app) is app:
                Sweeper(load_inbox(inbox_ref), kind="celery").start()

        signals.worker_ready.connect(_start, weak=False)


def __getattr__(name: str) -> Any:
    """``celery -A hookinbox.executors.celery worker``: the app, built from the worker's inbox settings."""
    if name != "app":
        raise AttributeError(name)
    global app
    opts = load_inbox().settings.executor_options
    app = make_app(broker=opts.get("broker"), queue=str(opts.get("queue", DEFAULT_QUEUE)))
    return app
