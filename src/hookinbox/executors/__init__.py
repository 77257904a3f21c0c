"""Executors: where handlers run after the delivery was acked.

An executor takes an accepted event's key (and, in-process, the already
parsed :class:`~hookinbox.events.Event`, so nothing is parsed twice) and
runs :func:`hookinbox.processing.process_batch` on it somewhere: worker
threads, asyncio tasks, or a Celery/RQ worker. ``submit`` never blocks and
never runs a handler: it returns False when the queue is full, and the core
then answers 503 (memory store) or leaves the event pending in the durable
store, where this process queues it again as soon as there is room.

Every executor has the same life cycle: ``start``/``stop`` for sync hosts,
``astart``/``astop`` on an event loop;
:func:`hookinbox.executors._factory.make_executor` is the one place that turns
the ``executor`` setting into one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

from hookinbox._settings_model import EXECUTOR_KINDS
from hookinbox.events import Event

__all__ = ["KINDS", "Executor", "ExecutorBase", "UnitOfWork"]

T = TypeVar("T")


class UnitOfWork(Protocol):
    """Wraps one unit of work an executor runs in a thread of its own: ``unit_of_work(fn)`` returns ``fn()``.

    The Django integration passes one that closes stale database connections around it.
    """

    def __call__(self, fn: Callable[[], T]) -> T: ...


#: what the ``executor`` setting may name
KINDS = EXECUTOR_KINDS


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
