"""Group commit: many concurrent calls, one writer thread, one write per batch.

A :class:`Batcher` turns a function that writes a *batch* of items
(``write(items) -> results``, one result per item, in order) into calls for
one item: :meth:`Batcher.run` for threads (WSGI workers, executors) and
:meth:`Batcher.arun` for event-loop coroutines. Callers append their item to a
queue and wait; a single writer thread takes everything queued (up to
``max_batch``), writes it in one call, and resolves each caller with its own
result: asyncio futures through one ``loop.call_soon_threadsafe`` per loop and
batch (so the loop never blocks and no caller pays a thread hop of its own),
:class:`concurrent.futures.Future` for threads.

A caller waits at most ``timeout`` seconds: past that it gets
:class:`~hookinbox.errors.StoreUnavailable` (a delivery is answered 503 and
the sender retries); if its item is still queued then, it is not written at
all. A batch write that fails is tried again item by item (for the callers
that still wait), so one item the store refuses (a value a column cannot hold)
fails alone and every other item of its batch is written; an item that fails
alone gets :class:`~hookinbox.errors.StoreUnavailable` (the original error is
logged by class name only: driver messages may quote bodies). The writer
notes when a write last succeeded and last failed, and why
(:meth:`Batcher.health`), for the store's health check. If a write lands after its callers gave up (they timed out
while it ran), a retried delivery is a duplicate and the event is already
pending for the sweeper, so nothing acked is lost and nothing is acked twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from hookinbox.errors import StoreUnavailable

__all__ = ["Batcher", "FairLock"]

log = logging.getLogger("hookinbox.store")

T = TypeVar("T")
R = TypeVar("R")

# A queued call: (item, the caller's loop or None for a thread, its future).
_Entry = tuple[Any, asyncio.AbstractEventLoop | None, Any]


class FairLock:
    """A lock handed over in arrival order (``threading.Lock`` lets the thread that just released it
    take it again at once). The writers of one SQLite store take turns through one: with one writer
    always busy (records under load), the claim and settle writers would otherwise starve, and
    events would be acked but not handled until the load stopped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def __enter__(self) -> None:
        with self._lock:
            if not self._held:
                self._held = True
                return
            turn = threading.Event()
            self._waiters.append(turn)
        turn.wait()  # the holder hands the lock over directly: held stays True

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._held = False

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._waiters = deque()
        self._held = False


class Batcher(Generic[T, R]):
    """Serialize calls through one thread, writing whatever arrived meanwhile as one batch."""

    def __init__(
        self,
        write: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_batch: int = 200,
        timeout: float = 3.0,
        name: str = "hookinbox-store-writer",
        turn: FairLock | None = None,
    ) -> None:
        self._write = write
        #: shared with the other writers of a store that has one writer at a time (SQLite)
        self.turn = turn
        self.max_batch = max(1, max_batch)
        self.timeout = timeout
        self.name = name
        self._items: deque[_Entry] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        #: monotonic time of the last write that succeeded / failed, the failure's class name,
        #: and when the write now running started (None when idle): read by :meth:`health`
        self.last_ok = 0.0
        self.last_failure: tuple[float, str] | None = None
        self.busy_since: float | None = None
        _LIVE.add(self)

    def _after_fork_in_child(self) -> None:
        """A forked child owns nothing of the parent's writer: not its thread, nor its lock (which the
        writer may have held at the fork, and which then stays locked forever in the child), nor the
        parent's queued calls (their callers are in the parent; writing them again here would
        duplicate them)."""
        self._cond = threading.Condition()
        self._items = deque()
        self._thread = None
        if self.turn is not None:
            self.turn._after_fork_in_child()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._cond:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()  # after a fork the writer thread is gone: start another
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _put(self, entry: _Entry) -> None:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        self._ensure_thread()
        with self._cond:
            self._items.append(entry)
            self._cond.notify()

    def run(self, item: T) -> R:
        """Write one item through the batch; blocks the calling thread (not an event loop)."""
        fut: concurrent.futures.Future[R] = concurrent.futures.Future()
        self._put((item, None, fut))
        try:
            return fut.result(self.timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()  # still queued: the writer skips it
            raise StoreUnavailable("the store did not answer in time") from None

    def run_many(self, items: Sequence[T]) -> list[R]:
        """Write several items through the batches (a worker that took a batch from its queue): they join
        whatever other callers queued, so one writer commits them together. Blocks the calling thread;
        raises :class:`~hookinbox.errors.StoreUnavailable` if they are not all written in time."""
        if self._closed:
            raise StoreUnavailable("the store is closed")
        futs: list[concurrent.futures.Future[R]] = [concurrent.futures.Future() for _ in items]
        self._ensure_thread()
        with self._cond:
            self._items.extend((item, None, fut) for item, fut in zip(items, futs, strict=True))
            self._cond.notify()
        deadline = time.monotonic() + self.timeout
        try:
            return [fut.result(max(0.0, deadline - time.monotonic())) for fut in futs]
        except concurrent.futures.TimeoutError:
            for fut in futs:
                fut.cancel()  # still queued: the writer skips them
            raise StoreUnavailable("the store did not answer in time") from None

    async def arun(self, item: T) -> R:
        """Write one item through the batch without blocking the running loop."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[R] = loop.create_future()
        self._put((item, loop, fut))
        timer = loop.call_later(self.timeout, _expire, fut)
        try:
            return await fut
        finally:
            timer.cancel()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items and self._closed:
                    return
                n = min(self.max_batch, len(self._items))
                batch = [self._items.popleft() for _ in range(n)]
            self._flush(batch)

    def _flush(self, batch: list[_Entry]) -> None:
        batch = [entry for entry in batch if not entry[2].done()]  # callers that gave up: not written
        if not batch:
            return
        results: list[Any] = self._attempt(batch)
        if len(batch) > 1 and isinstance(results[0], _Failed):
            # One bad item must not fail the others: each alone, for the callers still waiting (so a
            # store that is down costs at most their timeout, not one write per item).
            results = [
                _unavailable(results[0].exc) if fut.done() else self._attempt([(item, loop, fut)])[0]
                for item, loop, fut in batch
            ]
        results = [_unavailable(r.exc) if isinstance(r, _Failed) else r for r in results]
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        for (_, loop, fut), result in zip(batch, results, strict=True):
            if loop is not None:
                by_loop.setdefault(loop, []).append((fut, result))
                continue
            try:
                if isinstance(result, BaseException):
                    fut.set_exception(result)
                else:
                    fut.set_result(result)
            except Exception:  # a waiter that went away must not stop the writer
                log.debug("could not resolve a request", exc_info=True)
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

    def _attempt(self, batch: list[_Entry]) -> list[Any]:
        """Write ``batch``: one result per item, or ``_Failed`` for every item if the write raised."""
        self.busy_since = time.monotonic()
        try:
            if self.turn is not None:
                with self.turn:
                    results = self._write([item for item, _, _ in batch])
            else:
                results = self._write([item for item, _, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        except Exception as exc:  # never the message: it may quote the parameters (bodies)
            log.warning("%s: a batch of %d item(s) failed: %s", self.name, len(batch), type(exc).__name__)
            self.last_failure = (time.monotonic(), type(exc).__name__)
            return [_Failed(exc)] * len(batch)
        finally:
            self.busy_since = None
        self.last_ok = time.monotonic()
        return list(results)

    def health(self, now: float | None = None, *, recent: float = float("inf")) -> str | None:
        """None while writes succeed; else why not: one is stuck past ``timeout``, or the last write
        failed (at most ``recent`` seconds ago) and none succeeded since."""
        now = time.monotonic() if now is None else now
        busy = self.busy_since
        if busy is not None and now - busy > self.timeout:
            return f"a write has been waiting for {now - busy:.0f} s"
        failure = self.last_failure
        if failure is not None and failure[0] >= self.last_ok and now - failure[0] <= recent:
            return f"the last write failed {now - failure[0]:.0f} s ago: {failure[1]}"
        return None

    def close(self, timeout: float = 5.0) -> None:
        """Finish what is queued, then stop the writer thread; later calls raise StoreUnavailable."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and self._pid == os.getpid():
            thread.join(timeout)


_LIVE: weakref.WeakSet[Batcher[Any, Any]] = weakref.WeakSet()


def _reset_in_child() -> None:
    for batcher in list(_LIVE):
        batcher._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_reset_in_child)


def _settle(settled: list[tuple[asyncio.Future[Any], Any]]) -> None:
    """On the caller's loop: resolve every future of one batch that still waits."""
    for fut, result in settled:
        if fut.done():  # timed out or cancelled meanwhile
            continue
        if isinstance(result, BaseException):
            fut.set_exception(result)
        else:
            fut.set_result(result)


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(StoreUnavailable("the store did not answer in time"))


class _Failed:
    """The result of an item whose write raised ``exc``."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _unavailable(exc: BaseException) -> BaseException:
    out = StoreUnavailable(f"the store failed: {type(exc).__name__}")
    out.__cause__ = None
    return out
