"""Stores: where accepted events are recorded, de-duplicated and tracked.

A store is an *inbox*, not only a dedup set: it keeps every accepted event
with its status, attempts, lease and last error, so that an event that got a
200 is never lost. Every backend implements :class:`Store`; the contract test
suite in ``tests/stores/`` runs against each one.

Pick a backend with a URL (:func:`store_from_url`): ``memory://``,
``sqlite:///path.db``, ``postgresql+psycopg://...``, ``mysql+pymysql://...``,
``redis://host:6379/0``. Backend modules import their client library lazily,
so the core needs none of them.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from hookinbox.errors import ConfigurationError
from hookinbox.events import EventRecord, ProcessInfo, Status
from hookinbox.stores._base import Settle, StoreBase

__all__ = ["Settle", "Store", "StoreBase", "StoreHealth", "StoreStats", "register_store", "store_from_url"]

StoreStats = dict[str, dict[str, int]]

#: A write failure this recent (seconds), with no write succeeding since, makes a store unhealthy.
RECENT_FAILURE = 60.0


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """What a store's optional ``health()`` answers: ``ok``, and when not, a ``reason`` safe to show
    (never a driver message: those may quote parameters or a URL with its password)."""

    ok: bool
    reason: str | None = None


def writers_health(*batchers: Any) -> StoreHealth | None:
    """Unhealthy if a batch writer is stuck, or if the store's latest write failed (within
    :data:`RECENT_FAILURE` s) and no write of any of its writers succeeded since; else None."""
    now = time.monotonic()
    for b in batchers:
        stuck = b.health(now, recent=0.0)  # recent=0: only a stuck write counts here
        if stuck is not None:
            return StoreHealth(False, f"{b.name}: {stuck}")
    last_ok = max(b.last_ok for b in batchers)
    failures = [(b.last_failure, b.name) for b in batchers if b.last_failure is not None]
    if failures:
        (when, why), name = max(failures)
        if when >= last_ok and now - when <= RECENT_FAILURE:
            return StoreHealth(False, f"{name}: the last write failed {now - when:.0f} s ago: {why}")
    return None


@runtime_checkable
class Store(Protocol):
    """The inbox. All times are Unix seconds passed in by the caller (testable clocks).

    Concurrency contract: :meth:`record` is atomic on ``(endpoint, id)``: of
    any number of concurrent calls with one key (threads, tasks, processes
    sharing the store), exactly one returns True. :meth:`claim` is atomic too:
    one claimer wins an event until its lease expires.

    A store that is down raises :class:`~hookinbox.errors.StoreUnavailable`
    (or any exception: the caller answers 503 either way).

    Every method has an async form (``arecord``, ``aclaim``, ``acomplete``, ``afail``,
    ``aclaim_many``, ``asettle_many``) that never blocks the event loop; a new backend gets them,
    and ``claim_many``/``settle_many``, from :class:`~hookinbox.stores.StoreBase`.

    Process registry (heartbeats, issue 15): a process that claims events registers
    (:meth:`register_process`), heartbeats, and claims with its id as ``owner``; any sweeper
    calls :meth:`release_dead` to give the claims of a process that stopped heartbeating back
    at once, without waiting for their lease. The memory store keeps the registry in memory
    (one process: there is nothing to recover after a crash).
    """

    #: True when a recorded event survives the process (SQL, Redis); the memory store is not.
    durable: bool
    #: True when calls do network or disk I/O and must not run on an event loop thread.
    blocking: bool

    def record(self, record: EventRecord) -> bool:
        """Keep ``record`` as ``pending`` if its key is new. True if new, False for a duplicate."""

    async def arecord(self, record: EventRecord) -> bool:
        """:meth:`record` for the event loop. Must not block the loop (batch or use an async client)."""

    def discard(self, endpoint: str, event_id: str) -> None:
        """Forget a just-recorded event that could not be queued (so its retry is not a duplicate)."""

    def claim(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        """Take the event for processing if it is claimable, else None.

        Claimable: ``pending``; ``failed`` with ``next_attempt_at <= now``; or
        ``processing`` with ``lease_until <= now`` (its worker died). Claiming
        sets ``processing``, ``lease_until = now + lease``, ``attempts += 1`` and
        ``owner`` (the claiming process's id; None for tools and tests), and returns
        the updated record (with its body).
        """

    async def aclaim(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        """:meth:`claim` for the event loop (the SQL and Redis stores await their batch, no thread hop)."""

    def claim_many(
        self, keys: Sequence[tuple[str, str]], now: float, lease: float, owner: str | None = None
    ) -> list[EventRecord | None]:
        """:meth:`claim` for each key, one result per key in order, in one transaction / script call.

        A key twice in ``keys``: the first claims it, the later ones get None.
        """

    async def aclaim_many(
        self, keys: Sequence[tuple[str, str]], now: float, lease: float, owner: str | None = None
    ) -> list[EventRecord | None]:
        """:meth:`claim_many` for the event loop."""

    def due(self, now: float, recover_after: float, limit: int) -> list[tuple[str, str]]:
        """Keys worth claiming now: ``pending`` received before ``now - recover_after``,
        ``failed`` with ``next_attempt_at <= now``, ``processing`` with an expired lease."""

    def handler_done(self, endpoint: str, event_id: str, handler: str) -> None:
        """Note that one handler of the event succeeded (a retry skips it)."""

    def complete(self, endpoint: str, event_id: str, now: float) -> None:
        """``processing`` → ``done``.

        Settling (complete, fail, settle_many) clears ``owner`` and appends one
        :class:`~hookinbox.events.Attempt` to the history (number = attempts, started at the
        claim, outcome ``done``/``retry``/``dead``, process = the owner), keeping the last 25.
        """

    async def acomplete(self, endpoint: str, event_id: str, now: float) -> None:
        """:meth:`complete` for the event loop."""

    def fail(self, endpoint: str, event_id: str, now: float, error: str, retry_at: float | None) -> None:
        """``processing`` → ``failed`` (to be claimed at ``retry_at``), or ``dead`` when ``retry_at`` is None."""

    async def afail(self, endpoint: str, event_id: str, now: float, error: str, retry_at: float | None) -> None:
        """:meth:`fail` for the event loop."""

    def settle_many(self, items: Sequence[Settle]) -> list[bool]:
        """Settle each ``(endpoint, id, status, now, retry_at, error)`` (status DONE, FAILED or DEAD) like
        :meth:`complete`/:meth:`fail`, in one transaction / script call; True for each that was processing."""

    async def asettle_many(self, items: Sequence[Settle]) -> list[bool]:
        """:meth:`settle_many` for the event loop."""

    # -- ordering by resource (endpoints with ``order_by``; docs/ordering.md) --------------------

    def claim_ordered(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        """:meth:`claim`, one event at a time per resource, in order.

        For an event whose ``order_key`` is None this is :meth:`claim`. For an event of key K it also
        requires, atomically across threads and processes, that (a) no other event of
        ``(endpoint, K)`` is ``processing`` under a live lease (``lease_until > now``) and (b) no other
        ``pending`` event of ``(endpoint, K)`` comes before it in ``(order_seq, received_at, id)``
        order. A ``failed`` earlier event does not hold later ones back (one poison event must not
        block its resource for the whole retry horizon): it turns stale if a later one is handled.
        The claimed record has ``stale = True`` when its ``order_seq`` is lower than the highest one
        handled for K (the key's ``last_seq``).
        """

    def settle_ordered(self, settle: Settle, advance: bool) -> str | None:
        """Settle one event like :meth:`settle_many` (status DONE, FAILED, DEAD or STALE; STALE is
        finished, its attempt's outcome ``stale``) and, when ``advance``, raise its key's ``last_seq`` to
        its ``order_seq`` in the same transaction. Returns the id of the event of the same key that can
        be claimed next (the first ``pending`` one in order, when no event of the key is ``processing``
        under a live lease), or None; None too for an unordered event or one that was not processing.

        :meth:`due` never returns an ordered event that :meth:`claim_ordered` would refuse, and
        :meth:`purge` with ``Status.DONE`` also forgets the ``last_seq`` of keys untouched since ``before``.
        """

    def settle_ordered_next(
        self, settle: Settle, advance: bool, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        """:meth:`settle_ordered`, then :meth:`claim_ordered` of the event it names (at the settlement's
        ``now``): the next event of the resource, claimed, or None. :class:`StoreBase` does exactly
        that in two calls; the SQL store in one transaction, under the resource lock it already holds."""

    def register_process(self, info: ProcessInfo) -> None:
        """Insert (or replace, by id) a process that claims events."""

    def heartbeat(self, process_id: str, now: float) -> bool:
        """Set the process's ``last_heartbeat``; False when its row is gone (pruned as dead)."""

    def deregister_process(self, process_id: str) -> None:
        """Delete the process's row (graceful shutdown). Its claims are left alone: the lease covers them."""

    def processes(self) -> list[ProcessInfo]:
        """Registered processes, oldest started first."""

    def release_dead(self, now: float, timeout: float) -> list[tuple[ProcessInfo, list[tuple[str, str]]]]:
        """Prune every process whose ``last_heartbeat < now - timeout`` and release its claims.

        Each ``processing`` event it owns becomes ``failed``, due at ``now``, without lease or owner,
        with ``last_error`` saying which process was presumed dead and a ``released`` attempt. A
        process is pruned by exactly one caller, even with concurrent sweepers in several processes;
        events of live processes are never touched. Returns what this call pruned and released.
        """

    def get(self, endpoint: str, event_id: str) -> EventRecord | None:
        """One record, with its body."""

    def find(self, event_id: str) -> list[EventRecord]:
        """Records with this id in any endpoint (ids are only unique per endpoint)."""

    def list(
        self,
        *,
        endpoint: str | None = None,
        status: Status | None = None,
        type: str | None = None,
        limit: int = 50,
    ) -> list[EventRecord]:
        """Newest first, without bodies (and with an empty ``history``: light rows)."""

    def replay(self, endpoint: str, event_id: str, now: float) -> bool:
        """Make a ``dead``/``failed``/``done`` event ``pending`` again with fresh attempts.

        Handlers that already succeeded on a dead or failed event are kept as
        done (only the failing ones run again); replaying a ``done`` event runs
        every handler again. False if there is no such event or it is in flight.
        """

    def purge(self, before: float, statuses: Sequence[Status] = (Status.DONE, Status.DEAD)) -> int:
        """Delete records with these statuses received before ``before``; returns how many."""

    def drop_bodies(self, before: float) -> int:
        """Forget the bodies of finished events received before ``before`` (retention); keeps the keys."""

    def stats(self) -> StoreStats:
        """``{endpoint: {status: count}}``."""

    def close(self) -> None:
        """Release connections."""

    # Optional: ``def health(self) -> StoreHealth``: a cheap probe for ``/healthz`` (it may block: it is
    # run in a thread for a blocking store). The SQL and Redis stores answer unhealthy while their
    # writes fail (the last write failed within RECENT_FAILURE seconds and none succeeded since) or
    # one is stuck, and when a ``SELECT 1`` / ``PING`` fails; a store without it is probed with
    # ``list(limit=1)``.


_BACKENDS: dict[str, str] = {
    "memory": "hookinbox.stores.memory:MemoryStore",
    "sqlite": "hookinbox.stores.sql:SQLStore",
    "postgresql": "hookinbox.stores.sql:SQLStore",
    "postgres": "hookinbox.stores.sql:SQLStore",
    "mysql": "hookinbox.stores.sql:SQLStore",
    "mariadb": "hookinbox.stores.sql:SQLStore",
    "redis": "hookinbox.stores.redis:RedisStore",
    "rediss": "hookinbox.stores.redis:RedisStore",
}


def register_store(scheme: str, target: str) -> None:
    """Map a URL scheme to ``"module:Class"``; the class is built as ``Class.from_url(url, **options)``."""
    _BACKENDS[scheme] = target


def store_from_url(url: str, **options: Any) -> Store:
    """Build the store a URL names. ``options`` come from the settings (``dedup_ttl``, ``store_options``, ...)."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    target = _BACKENDS.get(scheme)
    if target is None:
        raise ConfigurationError(
            f"unknown store URL scheme {scheme!r}; one of {', '.join(sorted(_BACKENDS))}", key="hookinbox.store"
        )
    module_name, _, cls_name = target.partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, cls_name)
    store: Store = cls.from_url(url, **options)
    return store
