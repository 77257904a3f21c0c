"""The worker side of the remote executors (Celery, RQ): load the inbox, process one event, sweep.

A worker process builds the same :class:`~hookinbox.inbox.Inbox` as the web
processes, from one of two environment variables:

* ``HOOKINBOX_INBOX=myapp.webhooks:inbox``: an import path to an ``Inbox``
  (or to a function returning one); handlers registered with ``@inbox.on``
  in that module are there;
* ``HOOKINBOX_SETTINGS=/etc/hookinbox.toml``: the settings file; handlers
  come from its ``handlers`` tables.

Each task runs :func:`process_event`: claim, run the handlers, settle,
exactly as in-process. The sweeper (:class:`Sweeper`) runs in the worker:
it processes what is due (retries, leases of dead workers, events the web
process could not enqueue) straight from the store. Claims are atomic, so an
event both in the broker and found by a sweeper runs once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from hookinbox.drive import run_sync
from hookinbox.errors import ConfigurationError
from hookinbox.events import Event
from hookinbox.processing import maintain, process

if TYPE_CHECKING:
    from hookinbox.inbox import Inbox

__all__ = ["Sweeper", "check_options", "load_inbox", "process_event", "run_sweeper"]

log = logging.getLogger("hookinbox.worker")

_lock = threading.Lock()
_cached: tuple[int, Inbox] | None = None


class RemoteExecutor:
    """Base of the executors that hand events to a task queue (Celery, RQ).

    ``submit`` publishes the key only (workers load the event from the shared
    store) and never raises: a broker that is down makes it return False, and
    the event stays pending in the store for a worker's sweeper.
    """

    remote = True
    #: how the log names the queue system
    broker = "the broker"

    def publish(self, endpoint: str, event_id: str) -> None:
        raise NotImplementedError

    def submit(self, endpoint: str, event_id: str, event: Event | None = None) -> bool:
        try:
            self.publish(endpoint, event_id)
        except Exception as exc:
            log.warning(
                "could not hand event %s (%s) to %s (%s); a worker's sweeper will recover it",
                event_id,
                endpoint,
                self.broker,
                type(exc).__name__,
                extra={"endpoint": endpoint, "event_id": event_id},
            )
            return False
        return True

    def pending(self) -> int:
        return 0


def check_options(options: dict[str, Any], known: tuple[str, ...], executor: str) -> None:
    """Refuse unknown ``executor_options`` keys, as the settings do: a typo must not pass silently."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigurationError(
            f"unknown option for executor {executor!r}; known: {', '.join(known)}",
            key=f"hookinbox.executor_options.{unknown[0]}",
        )


def load_inbox(ref: str | None = None) -> Inbox:
    """The inbox of this worker process (built once per process, from ``ref`` or the environment)."""
    global _cached
    with _lock:
        if _cached is not None and _cached[0] == os.getpid():
            return _cached[1]
        inbox = _build(ref)
        if _cached is not None and _cached[1] is inbox:
            # forked from a parent that already used it: never share its connections
            inbox._store = None
        inbox.load_handlers()
        _cached = (os.getpid(), inbox)
        return inbox


def _build(ref: str | None) -> Inbox:
    from hookinbox.inbox import Inbox

    ref = ref or os.environ.get("HOOKINBOX_INBOX")
    if ref:
        obj: Any = _import(ref)
        if callable(obj) and not isinstance(obj, Inbox):
            obj = obj()
        if not isinstance(obj, Inbox):
            raise ConfigurationError(f"{ref!r} is not an Inbox nor a function returning one", key="HOOKINBOX_INBOX")
        return obj
    from hookinbox.settings import load_settings, settings_path_from_env

    path = settings_path_from_env()  # HOOKINBOX_SETTINGS (HOOKINBOX_CONFIG: deprecated, warns)
    if path:
        return Inbox(load_settings(path))
    raise ConfigurationError(
        "a hookinbox worker needs HOOKINBOX_INBOX (module:inbox) or HOOKINBOX_SETTINGS (a TOML file)"
    )


def _import(ref: str) -> Any:
    from hookinbox.handlers import resolve

    return resolve(ref, what="inbox", key="HOOKINBOX_INBOX")


def process_event(endpoint: str, event_id: str) -> str:
    """The task body: process one event of the worker's inbox; returns the outcome."""
    return run_sync(process(load_inbox(), endpoint, event_id))


class Sweeper(threading.Thread):
    """A daemon thread processing due events every ``sweep_interval`` (and retention every 10 min)."""

    def __init__(self, inbox: Inbox | None = None) -> None:
        super().__init__(name="hookinbox-sweeper", daemon=True)
        self.inbox = inbox
        self.stopping = threading.Event()

    def run(self) -> None:
        run_sweeper(self.inbox or load_inbox(), self.stopping)

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self.join(timeout)


def run_sweeper(inbox: Inbox, stop: threading.Event | None = None) -> None:
    """Sweep until ``stop`` is set: process due events in this thread. Several sweepers may run at once."""
    stop = stop or threading.Event()
    s = inbox.settings
    last_maintenance = 0.0
    while not stop.is_set():
        try:
            counts = inbox.process_due(recover_after=s.recover_after, limit=500)
            if counts:
                log.info("sweeper processed due events: %s", counts)
            if time.monotonic() - last_maintenance > 600:
                last_maintenance = time.monotonic()
                run_sync(maintain(inbox))
        except Exception as exc:
            log.warning("sweep failed (%s); will try again", type(exc).__name__)
        stop.wait(s.sweep_interval)
