"""What every store shares: :class:`StoreBase` (default async forms and batch calls), and the
attempt history and process-recovery helpers the backends use the same way.

A store that inherits :class:`StoreBase` needs only the synchronous methods of
:class:`~hookinbox.stores.Store` plus ``_settle``: it gets ``aclaim``/``acomplete``/``afail``/
``arecord``, ``claim_many``/``settle_many`` and ``aclaim_many``/``asettle_many``. The async forms
call the sync method directly when the store never blocks (``blocking = False``), and in a worker
thread (``asyncio.to_thread``) when it does. The SQL and Redis stores override the batch calls with
one transaction / one script call per batch (:mod:`hookinbox.stores._claims`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hookinbox.events import Attempt, EventRecord, ProcessInfo, Status

__all__ = [
    "HISTORY_LIMIT",
    "Settle",
    "StoreBase",
    "append_attempt",
    "attempt_from_dict",
    "dead_message",
    "history_from_json",
    "history_to_json",
    "outcome_of",
]

T = TypeVar("T")

#: The most attempts a record keeps in its history (the oldest are dropped).
HISTORY_LIMIT = 25

#: One settlement: ``(endpoint, id, status, now, retry_at, error)``; status is DONE, FAILED or DEAD
#: (or STALE, through ``settle_ordered``).
Settle = tuple[str, str, Status, float, float | None, str | None]

_OUTCOMES = {Status.DONE: "done", Status.FAILED: "retry", Status.DEAD: "dead", Status.STALE: "stale"}


def outcome_of(status: Status) -> str:
    """The :attr:`Attempt.outcome` of a settlement to ``status``: ``done``, ``retry`` or ``dead``."""
    return _OUTCOMES[status]


def append_attempt(history: list[Attempt], attempt: Attempt) -> list[Attempt]:
    """``history`` with ``attempt`` added last, keeping at most :data:`HISTORY_LIMIT` (a new list)."""
    out = [*history, attempt]
    return out[-HISTORY_LIMIT:]


def history_to_json(history: Sequence[Attempt]) -> str:
    """The history as a JSON list of objects (the SQL and Django column)."""
    return json.dumps([a.to_dict() for a in history])


def history_from_json(value: str | bytes | list[Any] | None) -> list[Attempt]:
    """Read back :func:`history_to_json` (or an already decoded list); None or empty is no history."""
    if value is None or value == "" or value == b"":
        return []
    items = json.loads(value) if isinstance(value, str | bytes) else value
    return [attempt_from_dict(d) for d in items]


def attempt_from_dict(d: dict[str, Any]) -> Attempt:
    return Attempt(
        number=int(d["number"]),
        started_at=float(d["started_at"]),
        finished_at=float(d["finished_at"]),
        outcome=str(d["outcome"]),
        error=d.get("error"),
        process=d.get("process"),
    )


def dead_message(info: ProcessInfo, now: float) -> str:
    """``last_error`` of an event released because its process stopped heartbeating."""
    return (
        f"process {info.id} ({info.host} pid {info.pid}) presumed dead: "
        f"no heartbeat for {max(0.0, now - info.last_heartbeat):.0f} s"
    )


class StoreBase:
    """Defaults for a :class:`~hookinbox.stores.Store`: async forms and batch calls built on the sync ones."""

    blocking: bool

    # -- what a subclass provides (the Store protocol) ------------------------------------------

    def record(self, record: EventRecord) -> bool:
        raise NotImplementedError

    def claim(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        raise NotImplementedError

    def _settle(
        self, endpoint: str, event_id: str, status: Status, now: float, retry_at: float | None, error: str | None
    ) -> bool:
        """Settle one ``processing`` event (see :meth:`settle_many`); True if it was processing."""
        raise NotImplementedError

    def claim_ordered(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        raise NotImplementedError(f"{type(self).__name__} does not order events by resource (order_by)")

    def settle_ordered(self, settle: Settle, advance: bool) -> str | None:
        raise NotImplementedError(f"{type(self).__name__} does not order events by resource (order_by)")

    def settle_ordered_next(
        self, settle: Settle, advance: bool, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        """Settle, then claim the resource's next event (two calls; a store may do both in one)."""
        next_id = self.settle_ordered(settle, advance)
        if next_id is None:
            return None
        return self.claim_ordered(settle[0], next_id, settle[3], lease, owner)

    # -- built on them ----------------------------------------------------------------------------

    def complete(self, endpoint: str, event_id: str, now: float) -> None:
        self._settle(endpoint, event_id, Status.DONE, now, None, None)

    def fail(self, endpoint: str, event_id: str, now: float, error: str, retry_at: float | None) -> None:
        self._settle(endpoint, event_id, Status.DEAD if retry_at is None else Status.FAILED, now, retry_at, error)

    def claim_many(
        self, keys: Sequence[tuple[str, str]], now: float, lease: float, owner: str | None = None
    ) -> list[EventRecord | None]:
        """:meth:`claim` for each key, in order (a key twice: the first claims it)."""
        return [self.claim(endpoint, event_id, now, lease, owner) for endpoint, event_id in keys]

    def settle_many(self, items: Sequence[Settle]) -> list[bool]:
        """Settle each item (complete it, or fail it); True for each event that was ``processing``."""
        return [self._settle(*item) for item in items]

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a sync method from the event loop: directly when the store never blocks, else in a thread."""
        if not self.blocking:
            return fn(*args)
        return await asyncio.to_thread(fn, *args)

    async def arecord(self, record: EventRecord) -> bool:
        return await self._off_loop(self.record, record)

    async def aclaim(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        return await self._off_loop(self.claim, endpoint, event_id, now, lease, owner)

    async def acomplete(self, endpoint: str, event_id: str, now: float) -> None:
        await self._off_loop(self.complete, endpoint, event_id, now)

    async def afail(self, endpoint: str, event_id: str, now: float, error: str, retry_at: float | None) -> None:
        await self._off_loop(self.fail, endpoint, event_id, now, error, retry_at)

    async def aclaim_many(
        self, keys: Sequence[tuple[str, str]], now: float, lease: float, owner: str | None = None
    ) -> list[EventRecord | None]:
        return await self._off_loop(self.claim_many, keys, now, lease, owner)

    async def asettle_many(self, items: Sequence[Settle]) -> list[bool]:
        return await self._off_loop(self.settle_many, items)
