"""Thread-pool executor for WSGI servers (and any sync host).

A bounded queue (see :class:`~hookinbox.executors._admission.Admission`)
feeds ``workers`` daemon threads; a sweeper thread recovers due events
(retries, abandoned leases, events accepted while the queue was full).
``shutdown`` stops taking work and drains for up to a deadline; after it the
workers take nothing more from the queue, and what is left stays pending in
the store for the next process. A handler still running at the deadline keeps
its lease: a thread cannot be stopped, and its event is recovered once the
lease expires if the process exits first.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, TypeVar

from hookinbox.drive import Flow, run_sync
from hookinbox.events import Event
from hookinbox.executors._admission import Admission
from hookinbox.processing import log_unsettled, maintain, process, sweep

if TYPE_CHECKING:
    from hookinbox.inbox import Inbox

__all__ = ["ThreadExecutor"]

log = logging.getLogger("hookinbox.executor")

_Item = tuple[str, str, Event | None]
T = TypeVar("T")


class ThreadExecutor:
    remote = False

    def __init__(self, inbox: Inbox, *, workers: int = 8, queue_size: int = 1000) -> None:
        self.inbox = inbox
        self.workers = max(1, workers)
        self.admission = Admission(queue_size)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._abandon = threading.Event()  # the drain deadline passed: take nothing more
        self._started = False
        self._busy = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._started or self._stopping.is_set():
                return
            self._started = True
            for i in range(self.workers):
                t = threading.Thread(target=self._work, name=f"hookinbox-worker-{i}", daemon=True)
                t.start()
                self._threads.append(t)
            t = threading.Thread(target=self._sweep, name="hookinbox-sweeper", daemon=True)
            t.start()
            self._threads.append(t)

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stop taking work, let queued and running events finish within ``timeout``.

        Returns True if everything finished. Unfinished events stay pending (or
        processing, until their lease expires) in the store and are recovered
        by the next process. Final: a stopped executor does not start again.
        """
        with self._lock:
            if self._stopping.is_set():
                return not any(t.is_alive() for t in self._threads)
            self._stopping.set()
        deadline = time.monotonic() + timeout
        for _ in range(self.workers):
            self._queue.put(None)  # after everything queued: workers drain, then exit
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in self._threads if t.is_alive()]
        if alive:
            self._abandon.set()
            log.warning(
                "drain deadline passed with %d event(s) unfinished; they stay in the store for recovery", self.pending()
            )
        return not alive

    # -- work -------------------------------------------------------------------------------

    def submit(self, endpoint: str, event_id: str, event: Event | None = None) -> bool:
        if self._stopping.is_set():
            return False
        admitted = self.admission.admit((endpoint, event_id))
        if admitted is None:
            return True
        if not admitted:
            return False
        if not self._started:
            self.start()
        self._queue.put((endpoint, event_id, event))
        return True

    def pending(self) -> int:
        return len(self.admission) + self._busy

    def run_flow(self, flow: Flow[T]) -> T:
        """Run one flow (processing, sweep, retention) in a worker or sweeper thread.

        The hook for hosts that need per-unit-of-work hygiene in these threads:
        the Django integration closes stale database connections around it.
        """
        return run_sync(flow)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._abandon.is_set():
                return
            self.admission.taken((item[0], item[1]))
            with self._lock:
                self._busy += 1
            try:
                self.run_flow(process(self.inbox, *item))
            except Exception as exc:  # a store failure while settling: the lease expires and it is retried
                log_unsettled(item[0], item[1], exc)
            finally:
                with self._lock:
                    self._busy -= 1

    def _sweep(self) -> None:
        s = self.inbox.settings
        recover_after = 0.0  # on start: anything left by a previous process
        last_maintenance = 0.0
        while not self._stopping.is_set():
            try:
                self.run_flow(sweep(self.inbox, self.submit, recover_after=recover_after))
                if time.monotonic() - last_maintenance > 600:
                    last_maintenance = time.monotonic()
                    self.run_flow(maintain(self.inbox))
            except Exception as exc:
                log.warning("sweep failed (%s); will try again", type(exc).__name__)
            if self._stopping.wait(s.sweep_interval):
                return
            recover_after = 0.0 if self.admission.take_overflow() else s.recover_after
