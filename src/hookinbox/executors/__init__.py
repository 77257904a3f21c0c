"""Executors: where handlers run after the delivery was acked.

An executor takes an accepted event's key (and, in-process, the already
parsed :class:`~hookinbox.events.Event`, so nothing is parsed twice) and
runs :func:`hookinbox.processing.process_batch` on it somewhere: worker
threads, asyncio tasks, or a Celery/RQ worker. ``submit`` never blocks and
never runs a handler: it returns False when the queue is full, and the core
then answers 503 (memory store) or leaves the event pending in the durable
store, where this process queues it again as soon as there is room.

Every executor has the same life cycle: ``start``/``stop`` for sync hosts,
``astart``/``astop`` on an event loop; :func:`make_executor` is the one
place that turns the ``executor`` setting into one.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from hookinbox.errors import ConfigurationError
from hookinbox.events import Event

if TYPE_CHECKING:
    from hookinbox._liveness import Liveness
    from hookinbox.runtime import Runtime

__all__ = ["KINDS", "Executor", "ExecutorBase", "UnitOfWork", "make_executor", "resolve_kind"]

T = TypeVar("T")


class UnitOfWork(Protocol):
    """Wraps one unit of work an executor runs in a thread of its own: ``unit_of_work(fn)`` returns ``fn()``.

    The Django integration passes one that closes stale database connections around it.
    """

    def __call__(self, fn: Callable[[], T]) -> T: ...


#: what the ``executor`` setting may name
KINDS = ("auto", "thread", "threads", "asyncio", "celery", "rq")

_REMOTE: dict[str, str] = {
    "celery": "hookinbox.executors.celery:CeleryExecutor",
    "rq": "hookinbox.executors.rq:RQExecutor",
}


@runtime_checkable
class Executor(Protocol):
    """Runs accepted events' handlers somewhere; see the module docstring."""

    #: True when handlers run in other processes, which then need a shared durable store.
    remote: bool

    def submit(self, endpoint: str, event_id: str, event: Event | None = None) -> bool:
        """Queue the event for processing; False when the queue is full or the executor is stopping."""

    def pending(self) -> int:
        """Events queued and not yet finished here (0 for remote executors)."""

    def start(self) -> None:
        """Start (idempotent): workers, the sweeper (which recovers due events) and heartbeats."""

    async def astart(self) -> None:
        """:meth:`start` on the running event loop."""

    def stop(self, timeout: float) -> bool:
        """Stop taking work and drain for up to ``timeout`` s; True when everything queued finished."""

    async def astop(self, timeout: float) -> bool:
        """:meth:`stop` on the running event loop."""

    def running_here(self) -> bool:
        """True when started and usable from the caller (for asyncio: on the running loop)."""


class ExecutorBase:
    """Defaults for the life cycle: the async forms run the sync ones off the loop."""

    remote = False

    def start(self) -> None:
        return None

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    def stop(self, timeout: float) -> bool:
        return True

    async def astop(self, timeout: float) -> bool:
        return await asyncio.to_thread(self.stop, timeout)

    def running_here(self) -> bool:
        return True

    def pending(self) -> int:
        return 0


def resolve_kind(kind: str, *, asynchronous: bool) -> str:
    """The executor a setting means on this host: ``auto`` is asyncio on ASGI, threads elsewhere."""
    if kind == "auto":
        return "asyncio" if asynchronous else "thread"
    if kind == "threads":
        return "thread"
    if kind not in KINDS:
        choices = ", ".join(k for k in KINDS if k != "threads")
        raise ConfigurationError(f"unknown executor {kind!r}; one of {choices}", key="hookinbox.executor")
    return kind


def make_executor(
    rt: Runtime, liveness: Liveness, *, asynchronous: bool, unit_of_work: UnitOfWork | None = None
) -> Executor:
    """The one factory: the executor the settings name, for a sync or an async host."""
    kind = resolve_kind(rt.settings.executor, asynchronous=asynchronous)
    s = rt.settings
    if kind == "thread":
        from hookinbox.executors.threads import ThreadExecutor

        return ThreadExecutor(rt, liveness, workers=s.workers, queue_size=s.queue_size, unit_of_work=unit_of_work)
    if kind == "asyncio":
        if not asynchronous:
            raise ConfigurationError("executor 'asyncio' needs an ASGI host; use 'thread'", key="hookinbox.executor")
        from hookinbox.executors.aio import AsyncioExecutor

        return AsyncioExecutor(rt, liveness, workers=s.workers, queue_size=s.queue_size, unit_of_work=unit_of_work)
    if not rt.store.durable:
        raise ConfigurationError(
            f"executor {kind!r} runs handlers in other processes, which cannot see a memory store; "
            "use sqlite, postgresql, mysql or redis",
            key="hookinbox.store",
        )
    module_name, _, cls_name = _REMOTE[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    ex: Executor = cls.from_runtime(rt)
    return ex
