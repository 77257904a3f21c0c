"""What the inspection queries share across stores: the listing filters, the keyset cursor, the timeline.

Listing is newest first, in the order ``(received_at, endpoint, id)`` descending (the Redis store breaks
ties of ``received_at`` by its index member instead, see :meth:`RedisStore.list`). A page after a given
event passes that event's :func:`cursor` as ``before=``: the next page starts strictly after it, whatever
was recorded meanwhile, and costs one index range scan however deep the page is (keyset paging, no OFFSET).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hookinbox.events import EventRecord, Status

__all__ = ["TIMELINE_SERIES", "Cursor", "Filters", "Inspectable", "Timeline", "cursor", "empty_timeline"]

#: ``(received_at, endpoint, id)`` of the last event of the previous page
Cursor = tuple[float, str, str]

#: ``{"received": [...], "handled": [...], "failed": [...]}``, one count per bucket, oldest bucket first
Timeline = dict[str, list[int]]

TIMELINE_SERIES = ("received", "handled", "failed")
#: the status of an event that counts in each series besides ``received``
TIMELINE_STATUSES = {Status.DONE.value: "handled", Status.FAILED.value: "failed", Status.DEAD.value: "failed"}


@runtime_checkable
class Inspectable(Protocol):
    """What the dashboard asks of a store besides :class:`~hookinbox.stores.Store`; every built-in store has it.

    ``list`` takes, besides the :class:`Store` filters, ``before`` (a :data:`Cursor`: keyset paging),
    ``since``/``until`` (``received_at`` in ``[since, until)``) and ``id_prefix``.
    """

    def list(
        self,
        *,
        endpoint: str | None = None,
        status: Status | None = None,
        type: str | None = None,
        limit: int = 50,
        before: Cursor | None = None,
        since: float | None = None,
        until: float | None = None,
        id_prefix: str | None = None,
    ) -> list[EventRecord]:
        """Newest first, without bodies, strictly after ``before``."""

    def count(
        self,
        *,
        endpoint: str | None = None,
        status: Status | None = None,
        type: str | None = None,
        since: float | None = None,
        until: float | None = None,
        id_prefix: str | None = None,
    ) -> int:
        """How many events :meth:`list` would return without a limit."""

    def timeline(self, since: float, until: float, *, bucket: float = 60.0, endpoint: str | None = None) -> Timeline:
        """Per ``bucket`` of ``[since, until)``, of the events received in it: received (by ``received_at``),
        handled (done) and failed (failed or dead), the latter two by the time of their last change."""

    def oldest_pending(self) -> dict[str, float]:
        """``{endpoint: received_at}`` of the oldest ``pending`` event per endpoint."""

    def discard_dead(self, endpoint: str, event_id: str) -> bool:
        """Delete a ``dead`` event; False (and nothing deleted) for any other."""


def cursor(record: EventRecord) -> Cursor:
    """The ``before=`` value that continues a listing after ``record``."""
    return (record.received_at, record.endpoint, record.id)


def empty_timeline(since: float, until: float, bucket: float) -> Timeline:
    n = max(0, math.ceil((until - since) / bucket))
    return {name: [0] * n for name in TIMELINE_SERIES}


def bucket_of(t: float, since: float, until: float, bucket: float) -> int | None:
    """The index of the bucket holding ``t``, or None outside ``[since, until)``."""
    if t < since or t >= until:
        return None
    return int((t - since) // bucket)


def add_to_timeline(
    out: Timeline, since: float, until: float, bucket: float, received_at: float, status: str, updated_at: float
) -> None:
    """Count one event received in the window: received at ``received_at``, handled or failed at ``updated_at``."""
    n = bucket_of(received_at, since, until, bucket)
    if n is None:
        return
    out["received"][n] += 1
    series = TIMELINE_STATUSES.get(status)
    if series is not None:
        m = bucket_of(updated_at, since, until, bucket)
        if m is not None:
            out[series][m] += 1


@dataclass(frozen=True, slots=True)
class Filters:
    """The listing filters, for the stores that filter in Python (memory, Redis)."""

    endpoint: str | None = None
    status: Status | None = None
    type: str | None = None
    since: float | None = None
    until: float | None = None
    id_prefix: str | None = None

    def key_matches(self, endpoint: str, event_id: str, received_at: float) -> bool:
        """The tests that need no more than the key and the time."""
        if self.endpoint is not None and endpoint != self.endpoint:
            return False
        if self.id_prefix is not None and not event_id.startswith(self.id_prefix):
            return False
        if self.since is not None and received_at < self.since:
            return False
        return self.until is None or received_at < self.until

    def rest_matches(self, status: Status, type: str) -> bool:
        return (self.status is None or status is Status(self.status)) and (self.type is None or type == self.type)
