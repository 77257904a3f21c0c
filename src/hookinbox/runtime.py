"""The runtime: what the flows and the executors need, and nothing else.

:class:`Runtime` holds the store (built lazily from the settings), the clock,
the endpoints, the handler registry, one event sink (counts, timings and the
throttled overload log) and this process's identity for heartbeats. The
receive, process and sweep flows (:mod:`hookinbox.core`,
:mod:`hookinbox.processing`) and the executors take a runtime; the public
:class:`~hookinbox.inbox.Inbox` is a facade over one. Nothing here imports a
flow, an executor or a shell, so the layers have no import circles::

    shells -> Inbox -> Runtime <- flows <- executors
                       Runtime -> stores, verifiers, handlers, events
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from hookinbox._throttle import Throttled
from hookinbox.errors import ConfigurationError
from hookinbox.events import ProcessInfo
from hookinbox.handlers import Handler, HandlerRegistry, import_handler
from hookinbox.settings import EndpointSettings, Settings
from hookinbox.stores import Store, store_from_url

__all__ = ["EventSink", "Observer", "Runtime", "Timer"]

log = logging.getLogger("hookinbox")

Observer = Callable[[str, str, str], None]
Timer = Callable[[str, str, float], None]


class EventSink:
    """Where the flows report what happened: counts (``observe``), timings (``observe_time``) and the
    overload log, which writes one warning per endpoint and reason every few seconds."""

    def __init__(self) -> None:
        self.observers: list[Observer] = []
        self.timers: list[Timer] = []
        self.overload_log = Throttled(logging.getLogger("hookinbox"))

    def observe(self, what: str, endpoint: str, detail: str) -> None:
        for fn in self.observers:
            try:
                fn(what, endpoint, detail)
            except Exception:  # an observer must never break the request
                log.debug("observer failed", exc_info=True)

    def observe_time(self, what: str, endpoint: str, seconds: float) -> None:
        for fn in self.timers:
            try:
                fn(what, endpoint, seconds)
            except Exception:
                log.debug("timer failed", exc_info=True)


class Runtime:
    """Store, clock, endpoints, handlers, event sink and process identity of one inbox."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        registry: HandlerRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.endpoints: dict[str, EndpointSettings] = dict(settings.endpoints)
        self.by_path: dict[str, EndpointSettings] = {ep.path: ep for ep in self.endpoints.values()}
        #: the endpoints ordered by resource (``order_by``): their events go through ``claim_ordered``
        self.ordered: frozenset[str] = frozenset(n for n, ep in self.endpoints.items() if ep.ordering is not None)
        self.registry = registry if registry is not None else HandlerRegistry()
        self.sink = EventSink()
        self.observe = self.sink.observe
        self.observe_time = self.sink.observe_time
        self.overload_log = self.sink.overload_log
        self._store = store
        self._store_lock = threading.Lock()
        self._handlers_loaded = False
        self._identity: ProcessInfo | None = None

    # -- store ------------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        store = self._store
        if store is None:
            with self._store_lock:
                if self._store is None:
                    s = self.settings
                    self._store = store_from_url(
                        s.store, dedup_ttl=s.dedup_ttl, max_events=s.max_events, clock=self.clock, **s.store_options
                    )
                store = self._store
        return store

    @property
    def store_built(self) -> bool:
        return self._store is not None

    def forget_store(self) -> None:
        """Drop the store without closing it (a forked child must not use its parent's connections)."""
        self._store = None
        self._identity = None

    def close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()

    # -- handlers ---------------------------------------------------------------------------

    def load_handlers(self) -> None:
        """Import the handlers named in the settings (``module:function``); idempotent."""
        if self._handlers_loaded:
            return
        for ep in self.endpoints.values():
            for pattern, refs in ep.handlers.items():
                for ref in refs:
                    try:
                        fn = import_handler(ref, key=f"endpoints.{ep.name}.handlers.{pattern}")
                    except ConfigurationError as exc:  # name the file (and table) the setting came from
                        raise self.settings.locate(exc) from None
                    self.registry.add(fn, pattern, endpoint=ep.name, name=ref)
        self._handlers_loaded = True

    def handlers_for(self, endpoint: str, event_type: str) -> list[tuple[str, Handler]]:
        if not self._handlers_loaded:
            self.load_handlers()
        return self.registry.match(endpoint, event_type)

    # -- routing ----------------------------------------------------------------------------

    def endpoint_for_path(self, path: str) -> EndpointSettings | None:
        ep = self.by_path.get(path)
        if ep is None and len(path) > 1 and path.endswith("/"):
            ep = self.by_path.get(path.rstrip("/"))
        return ep

    # -- this process -----------------------------------------------------------------------

    def identity(self, kind: str = "web") -> ProcessInfo:
        """This process as the store's process registry knows it (a fresh id after :meth:`new_identity`)."""
        info = self._identity
        if info is None or info.pid != os.getpid():
            info = self.new_identity(kind)
        return info

    def new_identity(self, kind: str | None = None) -> ProcessInfo:
        """A fresh registration id: after a fork, or after this process was presumed dead by the others."""
        now = self.clock()
        old = self._identity
        info = ProcessInfo(
            id=uuid.uuid4().hex[:16],
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            kind=kind or (old.kind if old is not None else "web"),
            started_at=now,
            last_heartbeat=now,
        )
        self._identity = info
        return info

    @property
    def owner(self) -> str | None:
        """The id claims are recorded under (None before this process registered)."""
        info = self._identity
        return info.id if info is not None and info.pid == os.getpid() else None

    def __repr__(self) -> str:
        return f"Runtime(endpoints={list(self.endpoints)!r}, store={self.settings.store!r})"
