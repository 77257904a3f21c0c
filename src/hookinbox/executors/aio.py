"""asyncio executor for ASGI servers.

``workers`` tasks consume a queue on the server's loop, bounded for every
submitting thread by :class:`~hookinbox.executors._admission.Admission`.
Async handlers run on the loop; sync handlers (and blocking store calls) run
in a thread pool, and when every handler of an event is sync the whole flow
runs in one thread hop. Task references are kept (the loop only holds weak
ones). A sweeper task recovers due events.

On shutdown the workers drain the queue until the deadline, then are
cancelled: an event whose async handlers were cancelled is released (due
again at once, for the next process); one whose sync handlers still run in a
thread keeps its lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from hookinbox.drive import Call, Flow, is_async_callable, run_async, run_sync
from hookinbox.events import Event
from hookinbox.executors._admission import Admission
from hookinbox.processing import log_unsettled, maintain, process, release, sweep

if TYPE_CHECKING:
    from hookinbox.inbox import Inbox

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


class AsyncioExecutor:
    remote = False

    def __init__(self, inbox: Inbox, *, workers: int = 8, queue_size: int = 1000) -> None:
        self.inbox = inbox
        self.workers = max(1, workers)
        self.admission = Admission(queue_size)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Item | None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._stopping = False
        self._busy = 0
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self.loop is not None and not self._stopping

    async def start(self) -> None:
        """Start on the running loop (idempotent)."""
        loop = asyncio.get_running_loop()
        if self.loop is loop and not self._stopping:
            return
        self.loop = loop
        self._stopping = False
        self.admission = Admission(self.admission.size)
        self._queue = asyncio.Queue()  # bounded by self.admission, which every thread sees
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="hookinbox-handler")
        for _ in range(self.workers):
            self._spawn(self._work())
        self._sweeper = self._spawn(self._sweep())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def shutdown(self, timeout: float = 10.0) -> bool:
        """Stop taking work; wait up to ``timeout`` for queued and running events, then cancel.

        Returns True when everything queued finished. What was not started
        stays pending in the store; cancelled async handlers are released; both
        are recovered by the next process's sweeper at start-up.
        """
        if self.loop is None or self._queue is None:
            return True
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for _ in range(self.workers):
            self._queue.put_nowait(None)  # after everything queued: workers drain, then exit
        workers = [t for t in self._tasks if t is not self._sweeper]
        not_done: set[asyncio.Task[None]] = set()
        if workers:
            _, not_done = await asyncio.wait(workers, timeout=timeout)
        for t in not_done:
            t.cancel()
        if not_done:
            await asyncio.wait(not_done, timeout=max(1.0, timeout / 10))
            log.warning("drain deadline passed; unfinished events stay in the store for recovery")
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.loop = None
        return not not_done

    def submit(self, endpoint: str, event_id: str, event: Event | None = None) -> bool:
        q, loop = self._queue, self.loop
        if self._stopping or q is None or loop is None:
            return False
        admitted = self.admission.admit((endpoint, event_id))
        if admitted is None:
            return True
        if not admitted:
            return False
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            q.put_nowait((endpoint, event_id, event))
        else:  # from another thread (a sync view under ASGI): the queue is unbounded, so this cannot drop
            loop.call_soon_threadsafe(q.put_nowait, (endpoint, event_id, event))
        return True

    def pending(self) -> int:
        return len(self.admission) + self._busy

    async def _work(self) -> None:
        assert self._queue is not None
        q = self._queue
        while True:
            item = await q.get()
            if item is None:
                return
            self.admission.taken((item[0], item[1]))
            self._busy += 1
            try:
                await self._run(item)
            except Exception as exc:
                log_unsettled(item[0], item[1], exc)
            finally:
                self._busy -= 1

    async def _run(self, item: _Item) -> None:
        endpoint, event_id, event = item
        flow = process(self.inbox, endpoint, event_id, event)
        if event is not None:
            handlers = self.inbox.handlers_for(endpoint, event.type)
            if handlers and not any(is_async_callable(fn) for _, fn in handlers):
                # every handler is sync, so the flow needs a thread anyway: one hop for all of it
                await asyncio.get_running_loop().run_in_executor(self._pool, run_sync, flow)
                return
        last: list[Call] = []
        try:
            await run_async(_watch(flow, last), self._pool)
        except asyncio.CancelledError:
            flow.close()
            if last and not last[0].blocking:  # cancelled on an awaited coroutine, not a thread
                # a coroutine handler really stopped: give the claim back for the next process
                await asyncio.shield(self._release(endpoint, event_id))
            raise

    async def _release(self, endpoint: str, event_id: str) -> None:
        try:
            await run_async(release(self.inbox, endpoint, event_id))
        except Exception as exc:
            log.warning("could not release event %s (%s): %s", event_id, endpoint, type(exc).__name__)

    async def _sweep(self) -> None:
        s = self.inbox.settings
        recover_after = 0.0  # on start: anything left by a previous process
        last_maintenance = 0.0
        while not self._stopping:
            try:
                await run_async(sweep(self.inbox, self.submit, recover_after=recover_after), self._pool)
                if time.monotonic() - last_maintenance > 600:
                    last_maintenance = time.monotonic()
                    await run_async(maintain(self.inbox), self._pool)
            except Exception as exc:
                log.warning("sweep failed (%s); will try again", type(exc).__name__)
            await asyncio.sleep(s.sweep_interval)
            recover_after = 0.0 if self.admission.take_overflow() else s.recover_after
