"""Thread executor for WSGI servers (and any sync host).

A :class:`~hookinbox.executors._pool.WorkerPool` (``workers`` daemon threads
draining batches from one bounded queue) and the process's
:class:`~hookinbox.executors._pool.Sweeper`, plus heartbeats when the store is
durable (:mod:`hookinbox._liveness`). ``stop`` stops taking work and drains
for up to a deadline; what is left stays in the store for the next process.
A handler still running at the deadline keeps its claim: a thread cannot be
stopped. The process then keeps its registration (no deregistering), so once
it exits, any live process gives that event back after ``process_timeout``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookinbox.events import Event
from hookinbox.executors import ExecutorBase
from hookinbox.executors._pool import Sweeper, WorkerPool

if TYPE_CHECKING:
    from hookinbox._liveness import Liveness
    from hookinbox.executors import UnitOfWork
    from hookinbox.runtime import Runtime

__all__ = ["ThreadExecutor"]


class ThreadExecutor(ExecutorBase):
    remote = False

    def __init__(
        self,
        rt: Runtime,
        liveness: Liveness,
        *,
        workers: int = 8,
        queue_size: int = 1000,
        unit_of_work: UnitOfWork | None = None,
    ) -> None:
        self.rt = rt
        self.liveness = liveness
        self.pool = WorkerPool(rt, liveness, workers=workers, queue_size=queue_size, unit_of_work=unit_of_work)
        self.sweeper = Sweeper(rt, liveness, self.pool.submit, admission=self.pool.admission, unit_of_work=unit_of_work)
        self._started = False
        self._stopped = False

    @property
    def admission(self):  # type: ignore[no-untyped-def]  # the pool's, for tests and metrics
        return self.pool.admission

    def start(self) -> None:
        if self._started or self._stopped:
            return
        self._started = True
        self.liveness.start()
        self.pool.start()
        self.sweeper.start()

    def submit(self, endpoint: str, event_id: str, event: Event | None = None) -> bool:
        if not self._started and not self._stopped:
            self.start()
        return self.pool.submit(endpoint, event_id, event)

    def pending(self) -> int:
        return self.pool.pending()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop taking work, let queued and running events finish within ``timeout``; True if all did.

        Final: a stopped executor does not start again.
        """
        if self._stopped:
            return self.pool.pending() == 0
        self._stopped = True
        self.sweeper.stop()
        ok = self.pool.stop(timeout)
        if self._started:
            self.liveness.stop(deregister=ok)
        return ok

    # the name before the life cycle was in the protocol
    shutdown = stop
