"""Executors: where handlers run after the delivery was acked.

An executor takes an accepted event's key (and, in-process, the already
parsed :class:`~hookinbox.events.Event`, so nothing is parsed twice) and
runs :func:`hookinbox.processing.process` on it somewhere: asyncio tasks
under ASGI, a thread pool under WSGI, or a Celery/RQ worker. ``submit`` never
blocks and never runs a handler: it returns False when the queue is full, and
the core then answers 503 (memory store) or leaves the event pending in the
durable store for the sweeper.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from hookinbox.events import Event

__all__ = ["Executor"]


@runtime_checkable
class Executor(Protocol):
    #: True when handlers run in other processes, which then need a shared durable store.
    remote: bool

    def submit(self, endpoint: str, event_id: str, event: Event | None = None) -> bool:
        """Queue the event for processing; False when the queue is full or the executor is stopping."""

    def pending(self) -> int:
        """Events queued and not yet finished here (0 for remote executors)."""


_REMOTE: dict[str, str] = {
    "celery": "hookinbox.executors.celery:CeleryExecutor",
    "rq": "hookinbox.executors.rq:RQExecutor",
}


def remote_executor(kind: str, inbox: object) -> Executor:
    """Build a remote executor named in the settings (``celery``, ``rq``)."""
    import importlib

    from hookinbox.errors import ConfigurationError

    target = _REMOTE.get(kind)
    if target is None:
        raise ConfigurationError(
            f"unknown executor {kind!r}; one of auto, thread, asyncio, {', '.join(sorted(_REMOTE))}",
            key="hookinbox.executor",
        )
    module_name, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    ex: Executor = cls.from_inbox(inbox)
    return ex
