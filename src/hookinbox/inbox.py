"""The :class:`Inbox`: the public facade over a :class:`~hookinbox.runtime.Runtime` and its executors."""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from hookinbox import core
from hookinbox._liveness import Liveness
from hookinbox.drive import run_async, run_sync
from hookinbox.errors import ConfigurationError
from hookinbox.events import Status
from hookinbox.executors import Executor, UnitOfWork
from hookinbox.executors._factory import make_executor
from hookinbox.handlers import Handler, HandlerRegistry
from hookinbox.runtime import Observer, Runtime, Timer
from hookinbox.settings import EndpointSettings, Settings, load_settings
from hookinbox.stores import Store

if TYPE_CHECKING:
    from hookinbox._throttle import Throttled
    from hookinbox.core import Reply

__all__ = ["Inbox"]

F = TypeVar("F", bound=Callable[..., Any])


class Inbox:
    """Receives webhooks for the endpoints in its settings.

    >>> inbox = Inbox.from_file("hookinbox.toml")
    >>> @inbox.on("order.*", endpoint="shop")
    ... def on_order(event): ...

    Mount it with :class:`hookinbox.asgi.WebhookMiddleware` or
    :class:`hookinbox.wsgi.WebhookMiddleware` (or the Flask/Django shells).

    ``unit_of_work`` wraps every unit of work an in-process executor runs in
    its own threads (processing a batch, a sweep): the Django integration
    passes one that closes stale database connections around it.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        registry: HandlerRegistry | None = None,
        unit_of_work: UnitOfWork | None = None,
    ) -> None:
        self.runtime = Runtime(settings, store=store, clock=clock, registry=registry)
        self.liveness = Liveness(self.runtime)
        self.unit_of_work = unit_of_work
        self._sync_executor: Executor | None = None
        self._async_executor: Executor | None = None
        self._exec_lock = threading.Lock()
        self._atexit = False

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> Inbox:
        """Build from a TOML settings file (``${VAR}`` interpolated from the environment)."""
        return cls(load_settings(path), **kwargs)

    @classmethod
    def from_settings(cls, settings: Settings | Mapping[str, Any] | str | os.PathLike[str], **kwargs: Any) -> Inbox:
        """Build from a :class:`Settings`, a dict of the same shape as the TOML file, or a path.

        Loaded by :func:`hookinbox.settings.load_settings`, the one loader of every integration.
        """
        return cls(load_settings(settings), **kwargs)

    # -- what the runtime holds -------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def clock(self) -> Callable[[], float]:
        return self.runtime.clock

    @property
    def endpoints(self) -> dict[str, EndpointSettings]:
        return self.runtime.endpoints

    @property
    def registry(self) -> HandlerRegistry:
        return self.runtime.registry

    @property
    def store(self) -> Store:
        return self.runtime.store

    @property
    def overload_log(self) -> Throttled:
        return self.runtime.overload_log

    @property
    def paths(self) -> list[str]:
        return list(self.runtime.by_path)

    def endpoint_for_path(self, path: str) -> EndpointSettings | None:
        return self.runtime.endpoint_for_path(path)

    # -- handlers ---------------------------------------------------------------------------

    def on(self, pattern: str = "*", *, endpoint: str | None = None, name: str | None = None) -> Callable[[F], F]:
        """Register a handler (sync or ``async def``) for an event type pattern.

        ``pattern`` is an exact type, a glob such as ``"order.*"``, or ``"*"``;
        ``endpoint`` limits it to one endpoint. Handlers receive one
        :class:`~hookinbox.events.Event` and must be idempotent: an event whose
        process died mid-handler runs again.
        """
        if endpoint is not None and endpoint not in self.endpoints:
            raise ConfigurationError(f"no endpoint {endpoint!r}; configured: {', '.join(self.endpoints)}")

        def deco(fn: F) -> F:
            self.registry.add(fn, pattern, endpoint=endpoint, name=name)
            return fn

        return deco

    def add_handler(
        self, fn: Handler, pattern: str = "*", *, endpoint: str | None = None, name: str | None = None
    ) -> None:
        self.on(pattern, endpoint=endpoint, name=name)(fn)

    def load_handlers(self) -> None:
        """Import the handlers named in the settings (``module:function``); idempotent."""
        self.runtime.load_handlers()

    def handlers_for(self, endpoint: str, event_type: str) -> list[tuple[str, Handler]]:
        return self.runtime.handlers_for(endpoint, event_type)

    # -- executors --------------------------------------------------------------------------

    def sync_executor(self) -> Executor:
        """The executor for sync hosts (WSGI): threads unless settings name a remote one."""
        ex = self._sync_executor
        if ex is None:
            with self._exec_lock:
                if self._sync_executor is None:
                    self._sync_executor = self._build_executor(asynchronous=False)
                    if not self._atexit:
                        atexit.register(self.shutdown)
                        self._atexit = True
                ex = self._sync_executor
        return ex

    def async_executor(self) -> Executor:
        """The executor for the running event loop (ASGI): asyncio unless settings name a remote one."""
        ex = self._async_executor
        if ex is None:
            with self._exec_lock:
                if self._async_executor is None:
                    self._async_executor = self._build_executor(asynchronous=True)
                ex = self._async_executor
        return ex

    def _build_executor(self, *, asynchronous: bool) -> Executor:
        return make_executor(self.runtime, self.liveness, asynchronous=asynchronous, unit_of_work=self.unit_of_work)

    async def astartup(self) -> None:
        """Start the executor on the running loop and recover due events (ASGI lifespan startup)."""
        self.load_handlers()
        await self.async_executor().astart()

    async def ashutdown(self, timeout: float | None = None) -> bool:
        """Drain the executor for up to ``drain_timeout`` (ASGI lifespan shutdown)."""
        ex = self._async_executor
        if ex is None:
            return True
        ok = await ex.astop(self.settings.drain_timeout if timeout is None else timeout)
        self._async_executor = None
        return ok

    def startup(self) -> None:
        """Start the thread executor (and its sweeper, which recovers due events)."""
        self.load_handlers()
        self.sync_executor().start()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop the thread executor, draining for up to ``drain_timeout``."""
        ex = self._sync_executor
        if ex is None:
            return True
        ok = ex.stop(self.settings.drain_timeout if timeout is None else timeout)
        self._sync_executor = None
        return ok

    def close(self) -> None:
        """Shut the sync executor down and release the store's connections."""
        self.shutdown()
        self.liveness.stop()
        self.runtime.close_store()

    # -- receiving (what the shells call) ---------------------------------------------------

    def receive(self, endpoint: EndpointSettings, headers: Mapping[str, str], body: bytes) -> Reply:
        """Verify, record and hand off one delivery from a sync host (WSGI, Django); the reply to send.

        ``headers`` has lower-cased names; ``body`` is the raw bytes, already bounded by the shell.
        """
        return run_sync(core.receive(self.runtime, endpoint, headers, body, self.sync_executor()))

    async def areceive(self, endpoint: EndpointSettings, headers: Mapping[str, str], body: bytes) -> Reply:
        """:meth:`receive` on the running event loop (ASGI); starts the executor on this loop if needed."""
        ex = self.async_executor()
        if not ex.running_here():
            await self.astartup()
        return await run_async(core.receive(self.runtime, endpoint, headers, body, ex))

    # -- operations -------------------------------------------------------------------------

    def replay(self, event_id: str, endpoint: str | None = None) -> int:
        """Make an event pending again (dead, failed or done); returns how many were replayed.

        The running executor (or the next process's sweeper) picks it up.
        """
        store = self.store
        records = [store.get(endpoint, event_id)] if endpoint else store.find(event_id)
        n = 0
        for rec in records:
            if rec is not None and store.replay(rec.endpoint, rec.id, self.clock()):
                n += 1
                self._kick(rec.endpoint, rec.id)
        return n

    def replay_dead(self, endpoint: str | None = None, limit: int = 10_000) -> int:
        """Replay every dead event (of one endpoint, or all)."""
        n = 0
        store = self.store
        for rec in store.list(endpoint=endpoint, status=Status.DEAD, limit=limit):
            if store.replay(rec.endpoint, rec.id, self.clock()):
                n += 1
                self._kick(rec.endpoint, rec.id)
        return n

    def _kick(self, endpoint: str, event_id: str) -> None:
        executors = [self._sync_executor, self._async_executor]
        if self.settings.executor not in ("auto", "thread", "threads", "asyncio") and not any(executors):
            executors = [self.sync_executor()]  # a script replaying: hand the event to the task queue
        for ex in executors:
            if ex is not None and ex.submit(endpoint, event_id):
                return

    def process_due(self, *, recover_after: float = 0.0, limit: int = 1000) -> dict[str, int]:
        """Process every due event now, in this thread; returns outcome counts.

        For scripts, cron jobs and tests: it does what the sweeper does,
        synchronously.
        """
        from hookinbox.processing import process_due

        self.load_handlers()
        return process_due(self.runtime, recover_after=recover_after, limit=limit)

    # -- observation ------------------------------------------------------------------------

    def add_observer(self, fn: Observer) -> None:
        """Call ``fn(what, endpoint, detail)`` on accepted/duplicate/rejected/done/retried/dead.

        ``detail`` is the event type, or the rejection code. Used by the
        metrics integration; must be fast and must not raise.
        """
        self.runtime.sink.observers.append(fn)

    def observe(self, what: str, endpoint: str, detail: str) -> None:
        self.runtime.observe(what, endpoint, detail)

    def add_timer(self, fn: Timer) -> None:
        """Call ``fn(what, endpoint, seconds)`` with latencies: ``ack`` (verify to reply) and ``handler``.

        Same rules as :meth:`add_observer`: fast, never raising.
        """
        self.runtime.sink.timers.append(fn)

    def observe_time(self, what: str, endpoint: str, seconds: float) -> None:
        self.runtime.observe_time(what, endpoint, seconds)
