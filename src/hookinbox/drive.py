"""Sans-IO flows and the two drivers that run them.

Every flow that touches a store or a handler (receiving a delivery,
processing an event, sweeping for due events) is written **once**, as a
generator that yields :class:`Call` operations and receives their results.
It never performs I/O itself. Two small drivers perform the calls:

* :func:`run_sync` calls them directly (WSGI threads, worker processes);
* :func:`run_async` awaits async variants, runs coroutine handlers on the
  loop, and moves blocking calls to a thread pool (ASGI).

So there is one implementation of each step, and the sync/async split lives
only here.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import Executor as PoolExecutor
from types import FunctionType
from typing import Any, TypeVar

__all__ = ["Call", "Flow", "run_async", "run_sync", "store_call"]

T = TypeVar("T")


class Call:
    """One operation a flow asks its driver to perform.

    ``fn(*args)`` is the sync form. ``afn``, when given, is the async form the
    async driver awaits instead. ``blocking`` tells the async driver to run a
    sync ``fn`` in a thread. A coroutine function ``fn`` is awaited by the
    async driver and run on a per-thread loop by the sync one.
    """

    __slots__ = ("afn", "args", "blocking", "fn")

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        afn: Callable[..., Awaitable[Any]] | None = None,
        blocking: bool = False,
    ) -> None:
        self.fn = fn
        self.args = args
        self.afn = afn
        self.blocking = blocking


Flow = Generator[Call, Any, T]

_local = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


_ASYNC: dict[FunctionType, bool] = {}


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """True for ``async def`` functions and objects whose ``__call__`` is one.

    Asked for every call of every flow, so the answer is cached per plain
    function (a bound method is keyed by its function): ``inspect`` takes
    microseconds, a dict lookup tens of nanoseconds.
    """
    key = getattr(fn, "__func__", fn)
    found = _ASYNC.get(key) if type(key) is FunctionType else None
    if found is not None:
        return found
    result = inspect.iscoroutinefunction(fn) or (
        not inspect.isroutine(fn) and inspect.iscoroutinefunction(type(fn).__call__)
    )
    if type(key) is FunctionType:
        if len(_ASYNC) >= 4096:  # functions made on the fly must not grow it without bound
            _ASYNC.clear()
        _ASYNC[key] = result
    return result


def call_sync(op: Call) -> Any:
    if is_async_callable(op.fn):
        return _thread_loop().run_until_complete(op.fn(*op.args))
    return op.fn(*op.args)


def run_sync(flow: Flow[T]) -> T:
    """Run a flow to completion, performing each call in the current thread."""
    try:
        op = next(flow)
        while True:
            try:
                result = call_sync(op)
            except Exception as exc:  # handed back to the flow, which decides
                op = flow.throw(exc)
            else:
                op = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def call_async(op: Call, pool: PoolExecutor | None) -> Any:
    if op.afn is not None:
        return await op.afn(*op.args)
    if is_async_callable(op.fn):
        return await op.fn(*op.args)
    if op.blocking:
        return await asyncio.get_running_loop().run_in_executor(pool, op.fn, *op.args)
    return op.fn(*op.args)


async def run_async(flow: Flow[T], pool: PoolExecutor | None = None) -> T:
    """Run a flow on the event loop; blocking sync calls go to ``pool``."""
    try:
        op = next(flow)
        while True:
            try:
                result = await call_async(op, pool)
            except Exception as exc:
                op = flow.throw(exc)
            else:
                op = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def store_call(store: Any, fn: Callable[..., Any], afn: Callable[..., Any] | None, *args: Any) -> Flow[Any]:
    """THE way a flow calls its store.

    A store that never blocks (memory) is called directly: a driver round trip costs more than the
    call. A blocking one is yielded to the driver, which awaits ``afn`` on an event loop (no thread
    hop where the store has a real async form) or calls ``fn`` in the current thread.
    """
    if not store.blocking:
        return fn(*args)
    return (yield Call(fn, *args, afn=afn, blocking=True))
