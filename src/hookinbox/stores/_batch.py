"""Group commit: many concurrent ``record`` calls, one writer thread, one transaction per batch.

Requests (event-loop coroutines and WSGI threads alike) append their record
to a queue and wait; a single writer thread takes everything queued (up to
``max_batch``), writes it in one transaction, and resolves each request with
its own outcome: asyncio futures through ``loop.call_soon_threadsafe`` (so the
loop never blocks and no request pays a thread hop of its own),
:class:`concurrent.futures.Future` for threads.

A request waits at most ``timeout`` seconds: past that it fails (the caller
answers 503 and the sender retries). If the write lands later anyway, the
retry is a duplicate and the event is already pending for the sweeper, so
nothing acked is lost and nothing is acked twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence

from hookinbox.errors import StoreUnavailable
from hookinbox.events import EventRecord

__all__ = ["Batcher"]

log = logging.getLogger("hookinbox.store")

WriteBatch = Callable[[Sequence[EventRecord]], list[bool]]
_Resolve = Callable[[bool | BaseException], None]


class Batcher:
    """Serialize record writes through one thread, batching whatever arrives meanwhile."""

    def __init__(self, write: WriteBatch, *, max_batch: int = 200, timeout: float = 3.0) -> None:
        self._write = write
        self.max_batch = max(1, max_batch)
        self.timeout = timeout
        self._items: deque[tuple[EventRecord, _Resolve]] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._cond:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()  # after a fork the writer thread is gone: start another
                self._thread = threading.Thread(target=self._run, name="hookinbox-store-writer", daemon=True)
                self._thread.start()

    def _put(self, record: EventRecord, resolve: _Resolve) -> None:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        self._ensure_thread()
        with self._cond:
            self._items.append((record, resolve))
            self._cond.notify()

    def record(self, record: EventRecord) -> bool:
        """Write one record through the batch; blocks the calling thread (not an event loop)."""
        fut: concurrent.futures.Future[bool] = concurrent.futures.Future()

        def resolve(result: bool | BaseException) -> None:
            if isinstance(result, BaseException):
                fut.set_exception(result)
            else:
                fut.set_result(result)

        self._put(record, resolve)
        try:
            return fut.result(self.timeout)
        except concurrent.futures.TimeoutError:
            raise StoreUnavailable("the store did not answer in time") from None

    async def arecord(self, record: EventRecord) -> bool:
        """Write one record through the batch without blocking the running loop."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()

        def settle(result: bool | BaseException) -> None:
            if fut.done():  # the request timed out or was cancelled meanwhile
                return
            if isinstance(result, BaseException):
                fut.set_exception(result)
            else:
                fut.set_result(result)

        def resolve(result: bool | BaseException) -> None:
            try:
                loop.call_soon_threadsafe(settle, result)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

        self._put(record, resolve)
        try:
            async with asyncio.timeout(self.timeout):
                return await fut
        except TimeoutError:
            raise StoreUnavailable("the store did not answer in time") from None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items and self._closed:
                    return
                batch = [self._items.popleft() for _ in range(min(self.max_batch, len(self._items)))]
            self._flush(batch)

    def _flush(self, batch: list[tuple[EventRecord, _Resolve]]) -> None:
        results: list[bool | BaseException]
        try:
            results = list(self._write([rec for rec, _ in batch]))
        except Exception as exc:  # never the message: it may quote the parameters (bodies)
            log.warning("recording a batch of %d event(s) failed: %s", len(batch), type(exc).__name__)
            results = [_unavailable(exc)] * len(batch)
        for (_, resolve), result in zip(batch, results, strict=True):
            try:
                resolve(result)
            except Exception:  # a waiter that went away must not stop the writer
                log.debug("could not resolve a record request", exc_info=True)

    def close(self, timeout: float = 5.0) -> None:
        """Finish what is queued, then stop the writer thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and self._pid == os.getpid():
            thread.join(timeout)


def _unavailable(exc: BaseException) -> BaseException:
    out = StoreUnavailable(f"the store failed: {type(exc).__name__}")
    out.__cause__ = None
    return out
