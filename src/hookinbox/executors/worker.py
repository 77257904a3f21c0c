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
from typing import TYPE_CHECKING, Any

from hookinbox.drive import run_sync
from hookinbox.errors import ConfigurationError
from hookinbox.events import Event
from hookinbox.executors import ExecutorBase
from hookinbox.executors._pool import Sweeper as _PoolSweeper
from hookinbox.processing import process, process_batch

if TYPE_CHECKING:
    from hookinbox.inbox import Inbox

__all__ = ["Sweeper", "check_options", "load_inbox", "process_event", "run_sweeper"]

log = logging.getLogger("hookinbox.worker")

_lock = threading.Lock()
_cached: tuple[int, Inbox] | None = None


class RemoteExecutor(ExecutorBase):
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

    def close(self) -> None:
        """Release broker connections (nothing runs here to drain)."""

    def stop(self, timeout: float = 10.0) -> bool:
        self.close()
        return True

    # the name before the life cycle was in the protocol
    def shutdown(self, timeout: float = 10.0) -> bool:
        return self.stop(timeout)


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
            inbox.runtime.forget_store()
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
    return run_sync(process(load_inbox().runtime, endpoint, event_id))


class Sweeper(threading.Thread):
    """The worker's sweeper and heartbeats: a daemon thread that processes due events in line.

    It registers the worker process (``kind``: ``celery``, ``rq`` or ``worker``) and heartbeats, so the
    claims of a killed worker are given back after ``process_timeout``; it processes what is due
    (retries, events the web process could not hand to the broker, claims of dead processes) in
    batches, straight from the store, with the same policy as the in-process executors.
    """

    def __init__(self, inbox: Inbox | None = None, kind: str = "worker") -> None:
        super().__init__(name="hookinbox-sweeper", daemon=True)
        self.inbox = inbox
        self.kind = kind
        self.stopping = threading.Event()

    def run(self) -> None:
        run_sweeper(self.inbox or load_inbox(), self.stopping, kind=self.kind)

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self.join(timeout)


def run_sweeper(inbox: Inbox, stop: threading.Event | None = None, *, kind: str = "worker") -> None:
    """Sweep until ``stop`` is set, processing due events in this thread. Several sweepers may run at once."""
    stop = stop or threading.Event()
    rt = inbox.runtime
    inbox.liveness.start(kind)
    found: list[tuple[str, str]] = []

    def flush() -> None:
        while found:
            batch = [(ep, eid, None) for ep, eid in found[:100]]
            del found[:100]
            counts = run_sync(process_batch(rt, batch))
            log.debug("sweeper processed %d due event(s): %s", len(batch), counts)

    def collect(endpoint: str, event_id: str) -> bool:
        found.append((endpoint, event_id))
        return True

    def flush_or_forget() -> None:
        try:
            flush()
        except Exception:
            found.clear()  # processed again by a later sweep: claims are atomic
            raise

    sweeper = _PoolSweeper(rt, inbox.liveness, collect, flush=flush_or_forget)
    try:  # events the web processes just published are the broker's: wait recover_after even at start
        sweeper.run(stop, first_recover_after=rt.settings.recover_after)
    finally:
        inbox.liveness.stop()
