"""asyncio executor for ASGI servers.

Events whose handlers are all ``def`` go to a
:class:`~hookinbox.executors._pool.WorkerPool`: handing one over is a
``SimpleQueue.put`` from the loop, and the pool's threads claim, run and
settle them in batches, so the event loop pays almost nothing per event (a
thread hop per event, through an asyncio future, used to cap intake at a few
hundred events a second). Events with an ``async def`` handler run as tasks
on the server's loop: ``workers`` tasks consume a queue bounded by
:class:`~hookinbox.executors._admission.Admission`, their ``def`` handlers
(if any) go to the pool's thread pool. Task references are kept (the loop
only holds weak ones). One sweeper thread recovers due events for both.

On shutdown the workers drain the queue until the deadline, then are
cancelled: an event whose async handlers were cancelled is released (due
again at once, for the next process); one whose sync handlers still run in a
thread keeps its claim.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from hookinbox.drive import Call, Flow, is_async_callable, run_async
from hookinbox.events import Event
from hookinbox.executors import ExecutorBase
from hookinbox.executors._admission import Admission
from hookinbox.executors._pool import Sweeper, WorkerPool
from hookinbox.processing import log_unsettled, process, release

if TYPE_CHECKING:
    from hookinbox._liveness import Liveness
    from hookinbox.executors import UnitOfWork
    from hookinbox.runtime import Runtime

__all__ = ["AsyncioExecutor"]

log = logging.getLogger("hookinbox.executor")

_Item = tuple[str, str, Event | None]


def _watch(flow: Flow[str], last: list[Call]) -> Flow[str]:
    """Pass ``flow`` through, keeping the call in flight in ``last`` (to know what a cancel stopped)."""
    try:
        op = next(flow)
        while True:
            last[:] = [op]
            try:
                result = yield op
            except Exception as exc:
                op = flow.throw(exc)
            else:
                op = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


class AsyncioExecutor(ExecutorBase):
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
        self.workers = max(1, workers)
        self.admission = Admission(queue_size)
        self.unit_of_work = unit_of_work
        self.pool = WorkerPool(
            rt, liveness, workers=workers, queue_size=queue_size, unit_of_work=unit_of_work, name="hookinbox-handler"
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Item | None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._threads: ThreadPoolExecutor | None = None
        self._sweeper: Sweeper | None = None
        self._stopping = False
        self._busy = 0
        self._async_endpoints: dict[tuple[str, int], bool] = {}

    @property
    def started(self) -> bool:
        return self.loop is not None and not self._stopping

    def running_here(self) -> bool:
        try:
            return self.started and self.loop is asyncio.get_running_loop()
        except RuntimeError:
            return False

    async def astart(self) -> None:
        """Start on the running loop (idempotent)."""
        loop = asyncio.get_running_loop()
        if self.loop is loop and not self._stopping:
            return
        self.loop = loop
        self._stopping = False
        self.admission = Admission(self.admission.size)
        self._queue = asyncio.Queue()  # bounded by self.admission, which every thread sees
        self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="hookinbox-handler-io")
        for _ in range(self.workers):
            self._spawn(self._work())
        await asyncio.to_thread(self.liveness.start)  # registering is a store call
        self.pool.start()
        self._sweeper = Sweeper(
            self.rt, self.liveness, self.submit, admission=self.pool.admission, unit_of_work=self.unit_of_work
        )
        self._sweeper.start()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def astop(self, timeout: float = 10.0) -> bool:
        """Stop taking work; wait up to ``timeout`` for queued and running events, then cancel.

        Returns True when everything queued finished. What was not started
        stays pending in the store; cancelled async handlers are released; both
        are recovered by the next process's sweeper at start-up.
        """
        if self.loop is None or self._queue is None:
            return True
        self._stopping = True
        if self._sweeper is not None:
            await asyncio.to_thread(self._sweeper.stop)
        for _ in range(self.workers):
            self._queue.put_nowait(None)  # after everything queued: workers drain, then exit
        pool_done = asyncio.ensure_future(asyncio.to_thread(self.pool.stop, timeout))
        workers = list(self._tasks)
        not_done: set[asyncio.Task[None]] = set()
        if workers:
            _, not_done = await asyncio.wait(workers, timeout=timeout)
        for t in not_done:
            t.cancel()
        if not_done:
            await asyncio.wait(not_done, timeout=max(1.0, timeout / 10))
            log.warning("drain deadline passed; unfinished events stay in the store for recovery")
        pool_ok = await pool_done
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
        ok = not not_done and pool_ok
        await asyncio.to_thread(self.liveness.stop, deregister=ok)
        self.loop = None
        return ok

    # the name before the life cycle was in the protocol
    shutdown = astop

    def _sync_only(self, endpoint: str, event: Event | None) -> bool:
        """True when every handler the event can reach is ``def``: the pool runs it, off the loop."""
        if event is not None:
            return not any(is_async_callable(fn) for _, fn in self.rt.handlers_for(endpoint, event.type))
        key = (endpoint, len(self.rt.registry))  # handlers added later change the answer
        cached = self._async_endpoints.get(key)
        if cached is None:  # a key without its event (sweeper, replay): any async handler of the endpoint
            self.rt.load_handlers()
            cached = self._async_endpoints[key] = self.rt.registry.has_async(endpoint)
        return not cached

    def submit(self, endpoint: str, event_id: str, event: Event | None = None) -> bool:
        q, loop = self._queue, self.loop
        if self._stopping or q is None or loop is None:
            return False
        if self._sync_only(endpoint, event):
            return self.pool.submit(endpoint, event_id, event)
        admitted = self.admission.admit((endpoint, event_id))
        if admitted is None:
            return True
        if not admitted:
            if self.rt.store.durable:
                self.pool.admission.defer((endpoint, event_id))
            return False
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            q.put_nowait((endpoint, event_id, event))
        else:  # from another thread (the sweeper, a sync view under ASGI): unbounded queue, cannot drop
            loop.call_soon_threadsafe(q.put_nowait, (endpoint, event_id, event))
        return True

    def pending(self) -> int:
        return len(self.admission) + self._busy + self.pool.pending()

    async def _work(self) -> None:
        assert self._queue is not None
        q = self._queue
        while True:
            item = await q.get()
            if item is None:
                return
            key = [(item[0], item[1])]
            self.admission.taken(key)
            if not self.liveness.can_claim:
                self.admission.finished(key)
                continue  # presumed dead by the others: the event stays in the store for them
            self._busy += 1
            try:
                await self._run(item)
            except Exception as exc:
                log_unsettled(item[0], item[1], exc)
            finally:
                self._busy -= 1
                self.admission.finished(key)

    async def _run(self, item: _Item) -> None:
        endpoint, event_id, event = item
        flow = process(self.rt, endpoint, event_id, event)
        last: list[Call] = []
        try:
            await run_async(_watch(flow, last), self._threads)
        except asyncio.CancelledError:
            flow.close()
            if last and not last[0].blocking:  # cancelled on an awaited coroutine, not a thread
                # a coroutine handler really stopped: give the claim back for the next process
                await asyncio.shield(self._release(endpoint, event_id))
            raise

    async def _release(self, endpoint: str, event_id: str) -> None:
        try:
            await run_async(release(self.rt, endpoint, event_id))
        except Exception as exc:
            log.warning("could not release event %s (%s): %s", event_id, endpoint, type(exc).__name__)
