"""Worker threads that drain batches, and the one sweeper every executor and worker uses.

:class:`WorkerPool`: ``workers`` daemon threads take events from one queue
(bounded by :class:`~hookinbox.executors._admission.Admission`), as many per
wake-up as their share of the queue and a small time budget allow, and run
:func:`~hookinbox.processing.process_batch` on them: one claim and one
settlement per batch instead of per event, and one thread wake-up per batch.
Handing an event to the pool is a ``SimpleQueue.put``: no event-loop future,
no callback, so an event loop that submits (ASGI with ``def`` handlers) pays
almost nothing per event.

:class:`Sweeper`: one thread per process that looks for due events and
submits them, with one policy (:class:`~hookinbox.processing.SweepPolicy`):
after a full page it goes on as soon as the workers took most of it, so a
backlog drains at the store's speed; otherwise it sleeps ``sweep_interval``.
It also gives back the claims of dead processes (heartbeats) and runs
retention every ``maintenance_interval``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from hookinbox.drive import run_sync
from hookinbox.events import Event
from hookinbox.executors._admission import Admission
from hookinbox.processing import Item, SweepPolicy, log_unsettled, maintain, process_batch, sweep

if TYPE_CHECKING:
    from hookinbox._liveness import Liveness
    from hookinbox.executors import UnitOfWork
    from hookinbox.runtime import Runtime

__all__ = ["Sweeper", "WorkerPool", "direct"]

log = logging.getLogger("hookinbox.executor")

T = TypeVar("T")

#: most events one worker claims at once
MAX_BATCH = 64
#: a batch holds about this much handler time (so slow handlers are spread over the threads)
BATCH_BUDGET = 0.05


def direct(fn: Callable[[], T]) -> T:
    """The default unit of work: just run it."""
    return fn()


class WorkerPool:
    """Threads draining batches from one bounded queue; see the module docstring."""

    def __init__(
        self,
        rt: Runtime,
        liveness: Liveness,
        *,
        workers: int = 8,
        queue_size: int = 1000,
        unit_of_work: UnitOfWork | None = None,
        name: str = "hookinbox-worker",
    ) -> None:
        self.rt = rt
        self.liveness = liveness
        self.workers = max(1, workers)
        self.admission = Admission(queue_size)
        self.unit_of_work: UnitOfWork = unit_of_work or direct
        self.name = name
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._started = False
        self._stopping = threading.Event()
        self._abandon = threading.Event()  # the drain deadline passed: take nothing more
        self._busy = 0
        self._per_event: float | None = None  # moving average of one event's handler time, seconds
        rt.sink.timers.append(self._handler_time)

    def start(self) -> None:
        with self._lock:
            if self._started or self._stopping.is_set():
                return
            self._started = True
            for i in range(self.workers):
                t = threading.Thread(target=self._work, name=f"{self.name}-{i}", daemon=True)
                t.start()
                self._threads.append(t)

    def submit(self, endpoint: str, event_id: str, event: Event | None = None) -> bool:
        if self._stopping.is_set():
            return False
        key = (endpoint, event_id)
        admitted = self.admission.admit(key)
        if admitted is None:
            return True
        if not admitted:
            if self.rt.store.durable:
                self.admission.defer(key)  # kept by the store: queued again as soon as there is room
            return False
        if not self._started:
            self.start()
        self._queue.put((endpoint, event_id, event))
        return True

    def pending(self) -> int:
        return len(self.admission) + self._busy

    def stop(self, timeout: float) -> bool:
        """Stop taking work; let queued and running events finish within ``timeout``. True if all did."""
        with self._lock:
            if self._stopping.is_set():
                return not any(t.is_alive() for t in self._threads)
            self._stopping.set()
        if self._handler_time in self.rt.sink.timers:
            self.rt.sink.timers.remove(self._handler_time)  # a stopped pool sizes no more batches
        deadline = time.monotonic() + timeout
        for _ in self._threads:
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

    # -- the worker threads -----------------------------------------------------------------

    def _take(self, first: Item) -> tuple[list[Item], bool]:
        """``first`` and what else this worker should take now; True when the stop sentinel was seen."""
        batch = [first]
        want = self.batch_size(self._queue.qsize(), self.workers)
        while len(batch) < want:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def batch_size(self, queued: int, workers: int) -> int:
        """How many events one worker takes now: its share of the ``queued`` ones, at most
        :data:`MAX_BATCH`, and about :data:`BATCH_BUDGET` of measured handler time (one at a time
        until a handler was measured: it might be slow, and a batch's claims wait for it)."""
        per_event = self._per_event
        if per_event is None:
            return 1
        return min(MAX_BATCH, queued // workers + 1, max(1, int(BATCH_BUDGET / max(per_event, 1e-6))))

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None or self._abandon.is_set():
                return
            batch, last = self._take(first)
            keys = [(ep, eid) for ep, eid, _ in batch]
            self.admission.taken(keys)
            try:
                self._run(batch)
            finally:
                self.admission.finished(keys)
            if last:
                return
            self._refill()

    def _run(self, batch: list[Item]) -> None:
        if not self.liveness.can_claim:
            # presumed dead by the others, who may run these: leave them to the store (they are pending)
            log.debug("not claiming %d event(s) while heartbeats fail", len(batch))
            return
        with self._lock:
            self._busy += len(batch)
        try:
            self.unit_of_work(lambda: run_sync(process_batch(self.rt, batch, go_on=self._go_on)))
        except Exception as exc:  # a store failure while claiming or settling: leases expire, they run again
            for endpoint, event_id, _ in batch:
                log_unsettled(endpoint, event_id, exc)
        finally:
            with self._lock:
                self._busy -= len(batch)

    def _handler_time(self, what: str, endpoint: str, seconds: float) -> None:
        """The runtime's timer hook: a moving average of handler time sizes the batches (not store time,
        which grows with contention and would shrink batches exactly when they help most)."""
        if what == "handler":
            last = self._per_event
            self._per_event = seconds if last is None else 0.9 * last + 0.1 * seconds

    def _go_on(self) -> bool:
        """Asked before each event of a batch: after the drain deadline the rest are given back."""
        return not self._abandon.is_set()

    def _refill(self) -> None:
        """Queue again what was deferred for lack of room (pending in the durable store)."""
        if not self.admission.deferred or self._stopping.is_set():
            return
        for endpoint, event_id in self.admission.take_deferred():
            self._queue.put((endpoint, event_id, None))


class Sweeper:
    """One thread per process: recovers due events, prunes dead processes, runs retention.

    ``submit(endpoint, id) -> bool`` hands a due key to the executor; ``queued()`` is how many it holds
    (to pace a backlog to the workers); ``flush()`` runs after each sweep (the Celery/RQ workers'
    in-line sweeper processes what it collected there).
    """

    def __init__(
        self,
        rt: Runtime,
        liveness: Liveness,
        submit: Callable[[str, str], bool],
        *,
        admission: Admission | None = None,
        flush: Callable[[], None] | None = None,
        unit_of_work: UnitOfWork | None = None,
        policy: SweepPolicy | None = None,
    ) -> None:
        self.rt = rt
        self.liveness = liveness
        self.submit = submit
        self.admission = admission
        self.flush = flush
        self.unit_of_work: UnitOfWork = unit_of_work or direct
        self.policy = policy or SweepPolicy.from_runtime(rt)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_maintenance = 0.0
        self._last_prune = 0.0

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        stop = self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, args=(stop,), name="hookinbox-sweeper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def run(self, stop: threading.Event, *, first_recover_after: float = 0.0) -> None:
        """The sweep loop, in the calling thread, until ``stop`` is set (the one loop of every host:
        the executors run it in a thread of their own, Celery/RQ workers in theirs).
        ``first_recover_after``: 0 at start-up takes anything a previous process left."""
        recover_after = first_recover_after
        policy = self.policy
        while not stop.is_set():
            full = False
            if self.liveness.can_claim:
                try:
                    full = self.tick(recover_after)
                except Exception as exc:
                    log.warning("sweep failed (%s); will try again", type(exc).__name__)
            if full:
                continue  # a backlog: on at once, paced by the workers
            if stop.wait(policy.interval):
                return
            overflow = self.admission is not None and self.admission.take_overflow()
            recover_after = 0.0 if overflow else policy.recover_after

    def tick(self, recover_after: float) -> bool:
        """One sweep (and retention when due); True when it found a full page (more may be due)."""
        policy = self.policy
        prune = time.monotonic() - self._last_prune >= policy.interval  # not once per page of a backlog
        if prune:
            self._last_prune = time.monotonic()
        found = self.unit_of_work(
            lambda: run_sync(sweep(self.rt, self.submit, recover_after=recover_after, limit=policy.page, prune=prune))
        )
        if self.flush is not None:
            self.flush()
        if time.monotonic() - self._last_maintenance > policy.maintenance_interval:
            self._last_maintenance = time.monotonic()
            self.unit_of_work(lambda: run_sync(maintain(self.rt)))
        if found < policy.page:
            return False
        if self.admission is not None:  # let the workers take most of this page before reading the next
            self.admission.wait_below(max(1, policy.page // 4), policy.interval)
        return True
