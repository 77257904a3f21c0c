"""The :class:`Inbox`: settings, store, handlers and executors, in one object."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from hookinbox._throttle import Throttled
from hookinbox.errors import ConfigurationError
from hookinbox.events import Status
from hookinbox.executors import Executor
from hookinbox.handlers import Handler, HandlerRegistry, import_handler
from hookinbox.settings import EndpointSettings, Settings
from hookinbox.stores import Store, store_from_url

if TYPE_CHECKING:
    from hookinbox.core import Reply

__all__ = ["Inbox"]

log = logging.getLogger("hookinbox")

F = TypeVar("F", bound=Callable[..., Any])

Observer = Callable[[str, str, str], None]
Timer = Callable[[str, str, float], None]


class Inbox:
    """Receives webhooks for the endpoints in its settings.

    >>> inbox = Inbox.from_file("hookinbox.toml")
    >>> @inbox.on("order.*", endpoint="shop")
    ... def on_order(event): ...

    Mount it with :class:`hookinbox.asgi.WebhookMiddleware` or
    :class:`hookinbox.wsgi.WebhookMiddleware` (or the Flask/Django shells).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.endpoints: dict[str, EndpointSettings] = dict(settings.endpoints)
        self._by_path: dict[str, EndpointSettings] = {ep.path: ep for ep in self.endpoints.values()}
        self.registry = HandlerRegistry()
        self._store = store
        self._store_lock = threading.Lock()
        self._configured_loaded = False
        self._sync_executor: Executor | None = None
        self._async_executor: Executor | None = None
        self._exec_lock = threading.Lock()
        self._observers: list[Observer] = []
        self._timers: list[Timer] = []
        #: refusals under overload (queue full, store down) would repeat once per request: throttled
        self.overload_log = Throttled(logging.getLogger("hookinbox"))

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> Inbox:
        """Build from a TOML settings file (``${VAR}`` interpolated from the environment)."""
        return cls(Settings.from_file(path), **kwargs)

    @classmethod
    def from_settings(cls, settings: Settings | Mapping[str, Any] | str | os.PathLike[str], **kwargs: Any) -> Inbox:
        """Build from a :class:`Settings`, a dict of the same shape as the TOML file, or a path."""
        if isinstance(settings, Settings):
            return cls(settings, **kwargs)
        if isinstance(settings, Mapping):
            return cls(Settings.from_dict(settings), **kwargs)
        return cls.from_file(settings, **kwargs)

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
        if self._configured_loaded:
            return
        for ep in self.endpoints.values():
            for pattern, refs in ep.handlers.items():
                for ref in refs:
                    fn = import_handler(ref, key=f"endpoints.{ep.name}.handlers.{pattern}")
                    self.registry.add(fn, pattern, endpoint=ep.name, name=ref)
        self._configured_loaded = True

    def handlers_for(self, endpoint: str, event_type: str) -> list[tuple[str, Handler]]:
        if not self._configured_loaded:
            self.load_handlers()
        return self.registry.match(endpoint, event_type)

    # -- routing and store ------------------------------------------------------------------

    def endpoint_for_path(self, path: str) -> EndpointSettings | None:
        ep = self._by_path.get(path)
        if ep is None and len(path) > 1 and path.endswith("/"):
            ep = self._by_path.get(path.rstrip("/"))
        return ep

    @property
    def paths(self) -> list[str]:
        return list(self._by_path)

    @property
    def store(self) -> Store:
        store = self._store
        if store is None:
            with self._store_lock:
                if self._store is None:
                    s = self.settings
                    self._store = store_from_url(
                        s.store,
                        dedup_ttl=s.dedup_ttl,
                        max_events=s.max_events,
                        clock=self.clock,
                        **s.store_options,
                    )
                store = self._store
        return store

    # -- executors --------------------------------------------------------------------------

    def sync_executor(self) -> Executor:
        """The executor for sync hosts (WSGI): threads unless settings name a remote one."""
        ex = self._sync_executor
        if ex is None:
            with self._exec_lock:
                if self._sync_executor is None:
                    self._sync_executor = self._make_executor(asynchronous=False)
                    atexit.register(self.shutdown)
                ex = self._sync_executor
        return ex

    def async_executor(self) -> Executor:
        """The executor for the running event loop (ASGI): asyncio unless settings name a remote one."""
        ex = self._async_executor
        if ex is None:
            with self._exec_lock:
                if self._async_executor is None:
                    self._async_executor = self._make_executor(asynchronous=True)
                ex = self._async_executor
        return ex

    def _make_executor(self, *, asynchronous: bool) -> Executor:
        s = self.settings
        kind = s.executor
        if kind == "auto":
            kind = "asyncio" if asynchronous else "thread"
        if kind in ("thread", "threads"):
            from hookinbox.executors.threads import ThreadExecutor

            return ThreadExecutor(self, workers=s.workers, queue_size=s.queue_size)
        if kind == "asyncio":
            if not asynchronous:
                raise ConfigurationError(
                    "executor 'asyncio' needs an ASGI host; use 'thread'", key="hookinbox.executor"
                )
            from hookinbox.executors.aio import AsyncioExecutor

            return AsyncioExecutor(self, workers=s.workers, queue_size=s.queue_size)
        from hookinbox.executors import _REMOTE, remote_executor

        if kind in _REMOTE and not self.store.durable:
            raise ConfigurationError(
                f"executor {kind!r} runs handlers in other processes, which cannot see a memory store; "
                "use sqlite, postgresql, mysql or redis",
                key="hookinbox.store",
            )
        return remote_executor(kind, self)

    async def astartup(self) -> None:
        """Start the asyncio executor on the running loop and recover due events (ASGI lifespan startup)."""
        self.load_handlers()
        ex = self.async_executor()
        start = getattr(ex, "start", None)
        if start is not None:
            result = start()
            if asyncio.iscoroutine(result):
                await result

    async def ashutdown(self, timeout: float | None = None) -> bool:
        """Drain the asyncio executor for up to ``drain_timeout`` (ASGI lifespan shutdown)."""
        ex = self._async_executor
        if ex is None:
            return True
        stop = getattr(ex, "shutdown", None)
        ok = True
        if stop is not None:
            result = stop(self.settings.drain_timeout if timeout is None else timeout)
            ok = bool(await result) if asyncio.iscoroutine(result) else bool(result)
        self._async_executor = None
        return ok

    def startup(self) -> None:
        """Start the thread executor (and its sweeper, which recovers due events)."""
        self.load_handlers()
        ex = self.sync_executor()
        start = getattr(ex, "start", None)
        if start is not None:
            start()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop the thread executor, draining for up to ``drain_timeout``."""
        ex = self._sync_executor
        if ex is None:
            return True
        stop = getattr(ex, "shutdown", None)
        ok = bool(stop(self.settings.drain_timeout if timeout is None else timeout)) if stop is not None else True
        self._sync_executor = None
        return ok

    def close(self) -> None:
        """Shut the sync executor down and release the store's connections."""
        self.shutdown()
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- receiving (what the shells call) ---------------------------------------------------

    def receive(self, endpoint: EndpointSettings, headers: Mapping[str, str], body: bytes) -> Reply:
        """Verify, record and hand off one delivery from a sync host (WSGI, Django); the reply to send.

        ``headers`` has lower-cased names; ``body`` is the raw bytes, already bounded by the shell.
        """
        from hookinbox import core
        from hookinbox.drive import run_sync

        return run_sync(core.receive(self, endpoint, headers, body, self.sync_executor()))

    async def areceive(self, endpoint: EndpointSettings, headers: Mapping[str, str], body: bytes) -> Reply:
        """:meth:`receive` on the running event loop (ASGI); starts the executor on this loop if needed."""
        from hookinbox import core
        from hookinbox.drive import run_async

        ex = self.async_executor()
        if getattr(ex, "loop", None) is not asyncio.get_running_loop() and hasattr(ex, "start"):
            await self.astartup()
        return await run_async(core.receive(self, endpoint, headers, body, ex))

    # -- operations -------------------------------------------------------------------------

    def replay(self, event_id: str, endpoint: str | None = None) -> int:
        """Make an event pending again (dead, failed or done); returns how many were replayed.

        The running executor (or the next process's sweeper) picks it up.
        """
        records = [self.store.get(endpoint, event_id)] if endpoint else self.store.find(event_id)
        n = 0
        for rec in records:
            if rec is not None and self.store.replay(rec.endpoint, rec.id, self.clock()):
                n += 1
                self._kick(rec.endpoint, rec.id)
        return n

    def replay_dead(self, endpoint: str | None = None, limit: int = 10_000) -> int:
        """Replay every dead event (of one endpoint, or all)."""
        n = 0
        for rec in self.store.list(endpoint=endpoint, status=Status.DEAD, limit=limit):
            if self.store.replay(rec.endpoint, rec.id, self.clock()):
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
        from hookinbox.drive import run_sync
        from hookinbox.processing import process

        self.load_handlers()
        counts: dict[str, int] = {}
        for endpoint, event_id in self.store.due(self.clock(), recover_after, limit):
            outcome = run_sync(process(self, endpoint, event_id))
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    # -- observation ------------------------------------------------------------------------

    def add_observer(self, fn: Observer) -> None:
        """Call ``fn(what, endpoint, detail)`` on accepted/duplicate/rejected/done/retried/dead.

        ``detail`` is the event type, or the rejection code. Used by the
        metrics integration; must be fast and must not raise.
        """
        self._observers.append(fn)

    def observe(self, what: str, endpoint: str, detail: str) -> None:
        for fn in self._observers:
            try:
                fn(what, endpoint, detail)
            except Exception:  # an observer must never break the request
                log.debug("observer failed", exc_info=True)

    def add_timer(self, fn: Timer) -> None:
        """Call ``fn(what, endpoint, seconds)`` with latencies: ``ack`` (verify to reply) and ``handler``.

        Same rules as :meth:`add_observer`: fast, never raising.
        """
        self._timers.append(fn)

    def observe_time(self, what: str, endpoint: str, seconds: float) -> None:
        for fn in self._timers:
            try:
                fn(what, endpoint, seconds)
            except Exception:
                log.debug("timer failed", exc_info=True)
