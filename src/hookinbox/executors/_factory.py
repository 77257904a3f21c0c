"""The one factory of executors: what the ``executor`` setting names, for a sync or an async host."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from hookinbox.errors import ConfigurationError
from hookinbox.executors import KINDS, Executor, UnitOfWork

if TYPE_CHECKING:
    from hookinbox._liveness import Liveness
    from hookinbox.runtime import Runtime

__all__ = ["make_executor", "resolve_kind"]

_REMOTE: dict[str, str] = {
    "celery": "hookinbox.executors.celery:CeleryExecutor",
    "rq": "hookinbox.executors.rq:RQExecutor",
}


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
        from hookinbox.executors.threads import ThreadExecutor  # the kinds import what they need

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
