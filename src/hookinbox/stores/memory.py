"""The in-memory store: one process, no durability, bounded.

A lock-protected dict. Finished events are kept (for de-duplication) for
``dedup_ttl`` and evicted oldest first when ``max_events`` is reached;
unfinished events are never evicted: when the store is full of them,
:meth:`MemoryStore.record` raises :class:`~hookinbox.errors.StoreFull` and the
sender gets a 503 to retry later, instead of the event being dropped.

Limits to know: it de-duplicates only within one process (``--workers N`` or
several replicas each have their own), and an event acked and not yet handled
is lost if the process dies. Use SQLite, PostgreSQL, MariaDB or Redis for
anything that must survive a restart.
"""

from __future__ import annotations

import dataclasses
import operator
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from hookinbox.errors import StoreFull
from hookinbox.events import FINISHED, EventRecord, Status
from hookinbox.stores import StoreStats

__all__ = ["MemoryStore"]


class MemoryStore:
    durable = False
    blocking = False

    def __init__(
        self,
        *,
        dedup_ttl: float = 7 * 86400.0,
        max_events: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dedup_ttl = dedup_ttl
        self.max_events = max_events
        self.clock = clock
        self._lock = threading.Lock()
        # key -> record, in insertion order (oldest first) for eviction
        self._records: OrderedDict[tuple[str, str], EventRecord] = OrderedDict()
        # the unfinished ones (pending, processing, failed), so that due() need not scan the finished
        self._open: dict[tuple[str, str], EventRecord] = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemoryStore:
        kwargs = {k: options[k] for k in ("dedup_ttl", "max_events", "clock") if k in options}
        return cls(**kwargs)

    # -- hot path ---------------------------------------------------------------------------

    def record(self, record: EventRecord) -> bool:
        key = (record.endpoint, record.id)
        with self._lock:
            if key in self._records:
                existing = self._records[key]
                if existing.status in FINISHED and existing.updated_at + self.dedup_ttl < self.clock():
                    self._remove(key)
                else:
                    return False
            if len(self._records) >= self.max_events:
                self._evict()
            record.status = Status.PENDING
            record.updated_at = record.received_at
            self._records[key] = record
            self._open[key] = record
            return True

    async def arecord(self, record: EventRecord) -> bool:
        return self.record(record)  # never blocks: a lock held for microseconds

    def _remove(self, key: tuple[str, str]) -> None:
        self._records.pop(key)
        self._open.pop(key, None)

    def _evict(self) -> None:
        """Drop the oldest finished events; never unfinished ones.

        Frees a batch (1/64 of ``max_events``) at once, walking from the oldest
        and stopping as soon as it has enough: a full store costs one short walk
        per batch of new events, not a scan of every event on each one.
        """
        if len(self._open) >= self.max_events:
            raise StoreFull(f"memory store holds {len(self._open)} unfinished events (max_events)")
        want = len(self._records) - self.max_events + max(1, self.max_events // 64)
        keys = []
        for key, rec in self._records.items():
            if rec.status in FINISHED:
                keys.append(key)
                if len(keys) >= want:
                    break
        for key in keys:
            self._remove(key)

    def discard(self, endpoint: str, event_id: str) -> None:
        with self._lock:
            if (endpoint, event_id) in self._records:
                self._remove((endpoint, event_id))

    # -- processing -------------------------------------------------------------------------

    def claim(self, endpoint: str, event_id: str, now: float, lease: float) -> EventRecord | None:
        with self._lock:
            rec = self._records.get((endpoint, event_id))
            if rec is None or not _claimable(rec, now):
                return None
            rec.status = Status.PROCESSING
            rec.lease_until = now + lease
            rec.attempts += 1
            rec.updated_at = now
            return _copy(rec)

    def due(self, now: float, recover_after: float, limit: int) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        with self._lock:
            for key, rec in self._open.items():
                if rec.status is Status.PENDING and rec.received_at > now - recover_after:
                    continue
                if _claimable(rec, now):
                    out.append(key)
                    if len(out) >= limit:
                        break
        return out

    def handler_done(self, endpoint: str, event_id: str, handler: str) -> None:
        with self._lock:
            rec = self._records.get((endpoint, event_id))
            if rec is not None and handler not in rec.handlers_done:
                rec.handlers_done.append(handler)

    def complete(self, endpoint: str, event_id: str, now: float) -> None:
        with self._lock:
            rec = self._records.get((endpoint, event_id))
            if rec is not None and rec.status is Status.PROCESSING:
                rec.status = Status.DONE
                rec.lease_until = None
                rec.next_attempt_at = None
                rec.last_error = None
                rec.updated_at = now
                self._open.pop((endpoint, event_id), None)

    def fail(self, endpoint: str, event_id: str, now: float, error: str, retry_at: float | None) -> None:
        with self._lock:
            rec = self._records.get((endpoint, event_id))
            if rec is None or rec.status is not Status.PROCESSING:
                return
            rec.last_error = error
            rec.lease_until = None
            rec.updated_at = now
            if retry_at is None:
                rec.status = Status.DEAD
                rec.next_attempt_at = None
                self._open.pop((endpoint, event_id), None)
            else:
                rec.status = Status.FAILED
                rec.next_attempt_at = retry_at

    # -- inspection -------------------------------------------------------------------------

    def get(self, endpoint: str, event_id: str) -> EventRecord | None:
        with self._lock:
            rec = self._records.get((endpoint, event_id))
            return None if rec is None else _copy(rec)

    def find(self, event_id: str) -> list[EventRecord]:
        with self._lock:
            return [dataclasses.replace(r) for (_, i), r in self._records.items() if i == event_id]

    def list(
        self,
        *,
        endpoint: str | None = None,
        status: Status | None = None,
        type: str | None = None,
        limit: int = 50,
    ) -> list[EventRecord]:
        with self._lock:
            out = []
            for rec in reversed(self._records.values()):
                if endpoint is not None and rec.endpoint != endpoint:
                    continue
                if status is not None and rec.status is not status:
                    continue
                if type is not None and rec.type != type:
                    continue
                out.append(dataclasses.replace(rec, body=None, handlers_done=list(rec.handlers_done)))
                if len(out) >= limit:
                    break
            return out

    def replay(self, endpoint: str, event_id: str, now: float) -> bool:
        with self._lock:
            rec = self._records.get((endpoint, event_id))
            if rec is None or rec.status in (Status.PENDING, Status.PROCESSING):
                return False
            if rec.status is Status.DONE:
                rec.handlers_done = []
            self._open[(endpoint, event_id)] = rec
            rec.status = Status.PENDING
            rec.attempts = 0
            rec.next_attempt_at = None
            rec.lease_until = None
            rec.updated_at = now
            rec.received_at = min(rec.received_at, now)
            return True

    def purge(self, before: float, statuses: Sequence[Status] = (Status.DONE, Status.DEAD)) -> int:
        wanted = set(statuses)
        with self._lock:
            keys = [k for k, r in self._records.items() if r.status in wanted and r.received_at < before]
            for key in keys:
                self._remove(key)
            return len(keys)

    def drop_bodies(self, before: float) -> int:
        n = 0
        with self._lock:
            for rec in self._records.values():
                if rec.status in FINISHED and rec.received_at < before and rec.body is not None:
                    rec.body = None
                    n += 1
        return n

    def stats(self) -> StoreStats:
        out: StoreStats = {}
        with self._lock:
            for rec in self._records.values():
                counts = out.setdefault(rec.endpoint, {})
                counts[rec.status.value] = counts.get(rec.status.value, 0) + 1
        return out

    def close(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self._records)


_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(EventRecord) if f.init))


def _copy(rec: EventRecord) -> EventRecord:
    """A copy the caller may change (faster than ``dataclasses.replace``, which inspects the fields each time)."""
    new = EventRecord(*_FIELDS(rec))
    new.handlers_done = list(rec.handlers_done)
    return new


def _claimable(rec: EventRecord, now: float) -> bool:
    if rec.status is Status.PENDING:
        return True
    if rec.status is Status.FAILED:
        return rec.next_attempt_at is None or rec.next_attempt_at <= now
    if rec.status is Status.PROCESSING:
        return rec.lease_until is not None and rec.lease_until <= now
    return False
