"""Thread-pool executor for WSGI servers (and any sync host).

A bounded :class:`queue.Queue` feeds ``workers`` daemon threads; a sweeper
thread recovers due events (retries, abandoned leases, events accepted while
the queue was full). ``shutdown`` stops taking work and waits up to a deadline;
what is left stays pending in the store.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, TypeVar

from hookinbox.drive import Flow, run_sync
from hookinbox.events import Event
from hookinbox.processing import maintain, process, sweep

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
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=max(1, queue_size))
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._started = False
        self._busy = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            self._stopping.clear()
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
        by the next process.
        """
        with self._lock:
            if not self._started:
                return True
            self._stopping.set()
            self._started = False
        deadline = time.monotonic() + timeout
        for _ in range(self.workers):
            try:
                self._queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                break
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in self._threads if t.is_alive()]
        self._threads = alive
        if alive:
            log.warning("shutdown deadline passed with %d event(s) unfinished; they stay in the store", self.pending())
        return not alive

    # -- work -------------------------------------------------------------------------------

    def submit(self, endpoint: str, event_id: str, event: Event | None = None) -> bool:
        if self._stopping.is_set():
            return False
        if not self._started:
            self.start()
        try:
            self._queue.put_nowait((endpoint, event_id, event))
        except queue.Full:
            return False
        return True

    def pending(self) -> int:
        return self._queue.qsize() + self._busy

    def run_flow(self, flow: Flow[T]) -> T:
        """Run one flow (processing, sweep, retention) in a worker or sweeper thread.

        The hook for hosts that need per-unit-of-work hygiene in these threads:
        the Django integration closes stale database connections around it.
        """
        return run_sync(flow)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._busy += 1
            try:
                self.run_flow(process(self.inbox, *item))
            except Exception:  # a store failure while settling: the lease will expire and it is retried
                log.exception("processing event %s (%s) failed; it will be recovered", item[1], item[0])
            finally:
                self._busy -= 1
            if self._stopping.is_set() and self._queue.empty():
                return

    def _sweep(self) -> None:
        s = self.inbox.settings
        recover_after = 0.0  # on start: anything left by a previous process
        last_maintenance = 0.0
        while not self._stopping.wait(0 if recover_after == 0.0 else s.sweep_interval):
            try:
                self.run_flow(sweep(self.inbox, self.submit, recover_after=recover_after))
                if time.monotonic() - last_maintenance > 600:
                    last_maintenance = time.monotonic()
                    self.run_flow(maintain(self.inbox))
            except Exception as exc:
                log.warning("sweep failed (%s); will try again", type(exc).__name__)
            recover_after = s.recover_after
