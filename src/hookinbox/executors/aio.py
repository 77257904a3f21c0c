"""asyncio executor for ASGI servers.

``workers`` tasks consume a bounded :class:`asyncio.Queue` on the server's
loop. Async handlers run on the loop; sync handlers (and blocking store
calls) run in a thread pool, and when every handler of an event is sync the
whole flow runs in one thread hop. Task references are kept (the loop only
holds weak ones). A sweeper task recovers due events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from hookinbox.drive import is_async_callable, run_async, run_sync
from hookinbox.events import Event
from hookinbox.processing import maintain, process, sweep

if TYPE_CHECKING:
    from hookinbox.inbox import Inbox

__all__ = ["AsyncioExecutor"]

log = logging.getLogger("hookinbox.executor")

_Item = tuple[str, str, Event | None]


class AsyncioExecutor:
    remote = False

    def __init__(self, inbox: Inbox, *, workers: int = 8, queue_size: int = 1000) -> None:
        self.inbox = inbox
        self.workers = max(1, workers)
        self.queue_size = max(1, queue_size)
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
        self._queue = asyncio.Queue(self.queue_size)
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

        Returns True when everything queued finished. Cancelled events stay in
        the store (pending, or processing until the lease expires) and are
        recovered by the next process.
        """
        if self.loop is None or self._queue is None:
            return True
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for _ in range(self.workers):
            try:
                self._queue.put_nowait(None)
            except asyncio.QueueFull:
                break  # workers exit by themselves once the queue is empty
        workers = [t for t in self._tasks if t is not self._sweeper]
        not_done: set[asyncio.Task[None]] = set()
        if workers:
            _, not_done = await asyncio.wait(workers, timeout=timeout)
        for t in not_done:
            t.cancel()
        if not_done:
            await asyncio.wait(not_done, timeout=1.0)
            log.warning("shutdown deadline passed; unfinished events stay in the store for recovery")
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.loop = None
        return not not_done

    def submit(self, endpoint: str, event_id: str, event: Event | None = None) -> bool:
        q = self._queue
        if self._stopping or q is None or self.loop is None:
            return False
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self.loop:  # from another thread (a sync view under ASGI)
            if q.qsize() >= self.queue_size:
                return False
            self.loop.call_soon_threadsafe(self._put_or_drop, (endpoint, event_id, event))
            return True
        try:
            q.put_nowait((endpoint, event_id, event))
        except asyncio.QueueFull:
            return False
        return True

    def _put_or_drop(self, item: _Item) -> None:
        assert self._queue is not None
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:  # stays pending in the store; the sweeper recovers it
            log.warning("queue full; event %s left for recovery", item[1])

    def pending(self) -> int:
        return (self._queue.qsize() if self._queue is not None else 0) + self._busy

    async def _work(self) -> None:
        assert self._queue is not None
        q = self._queue
        while True:
            item = await q.get()
            if item is None:
                return
            self._busy += 1
            try:
                await self._run(item)
            except Exception:
                log.exception("processing event %s (%s) failed; it will be recovered", item[1], item[0])
            finally:
                self._busy -= 1
            if self._stopping and q.empty():
                return

    async def _run(self, item: _Item) -> None:
        endpoint, event_id, event = item
        flow = process(self.inbox, endpoint, event_id, event)
        if event is not None:
            handlers = self.inbox.handlers_for(endpoint, event.type)
            if handlers and not any(is_async_callable(fn) for _, fn in handlers):
                # every handler is sync, so the flow needs a thread anyway: one hop for all of it
                await asyncio.get_running_loop().run_in_executor(self._pool, run_sync, flow)
                return
        await run_async(flow, self._pool)

    async def _sweep(self) -> None:
        s = self.inbox.settings
        recover_after = 0.0
        last_maintenance = 0.0
        while not self._stopping:
            try:
                await run_async(sweep(self.inbox, self.submit, recover_after=recover_after), self._pool)
                if time.monotonic() - last_maintenance > 600:
                    last_maintenance = time.monotonic()
                    await run_async(maintain(self.inbox), self._pool)
            except Exception as exc:
                log.warning("sweep failed (%s); will try again", type(exc).__name__)
            recover_after = s.recover_after
            await asyncio.sleep(s.sweep_interval)
