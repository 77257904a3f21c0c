"""The in-memory store: one process, no durability, bounded.

A lock-protected dict. Finished events are kept (for de-duplication) for
``dedup_ttl`` and evicted oldest first when ``max_events`` is reached;
unfinished events are never evicted: when the store is full of them,
:meth:`MemoryStore.record` raises :class:`~hookinbox.errors.StoreFull` and the
sender gets a 503 to retry later, instead of the event being dropped.

Finished events are kept frozen, as flat tuples of atomic values, which
CPython's garbage collector stops tracking. A store full of them (100 000 by
default) then costs the collector nothing: kept as objects, every full
collection walked all of them, about a fifth of the server's CPU under a
sustained flood (docs/benchmarks.md).

Limits to know: it de-duplicates only within one process (``--workers N`` or
several replicas each have their own), and an event acked and not yet handled
is lost if the process dies. Use SQLite, PostgreSQL, MariaDB or Redis for
anything that must survive a restart.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import operator
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any

from hookinbox.errors import StoreFull
from hookinbox.events import Attempt, EventRecord, ProcessInfo, Status
from hookinbox.stores import StoreStats
from hookinbox.stores._base import HISTORY_LIMIT, Settle, StoreBase, dead_message, outcome_of
from hookinbox.stores._query import Cursor, Filters, Timeline, add_to_timeline, empty_timeline

__all__ = ["MemoryStore"]

# Enum members read through the class cost a descriptor call each; the hot path reads these.
_ST_PENDING, _ST_PROCESSING, _ST_FAILED = Status.PENDING, Status.PROCESSING, Status.FAILED
_ST_DONE, _ST_DEAD = Status.DONE, Status.DEAD

#: A finished (done or dead) record, frozen: see :func:`_freeze`.
_Frozen = tuple[Any, ...]
_Entry = EventRecord | _Frozen


class MemoryStore(StoreBase):
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
        # key -> record, in insertion order (oldest first) for eviction; finished ones frozen
        self._records: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        # the unfinished ones (pending, processing, failed), so that due() need not scan the finished
        self._open: dict[tuple[str, str], EventRecord] = {}
        # the process registry (heartbeats): one process, so it only matters to tools and tests
        self._processes: dict[str, ProcessInfo] = {}
        # ordering by resource: the unfinished events of each (endpoint, order_key), and each key's
        # [last_seq, last_id, updated_at] (the newest event handled)
        self._by_key: dict[tuple[str, str], set[str]] = {}
        self._keys: dict[tuple[str, str], list[Any]] = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemoryStore:
        kwargs = {k: options[k] for k in ("dedup_ttl", "max_events", "clock") if k in options}
        return cls(**kwargs)

    # -- hot path ---------------------------------------------------------------------------

    def record(self, record: EventRecord) -> bool:
        key = (record.endpoint, record.id)
        with self._lock:
            existing = self._records.get(key)
            if existing is not None:
                if not isinstance(existing, EventRecord) and existing[_UPDATED_AT] + self.dedup_ttl < self.clock():
                    self._remove(key)
                else:
                    return False
            if len(self._records) >= self.max_events:
                self._evict()
            record.status = _ST_PENDING
            record.updated_at = record.received_at
            self._records[key] = record
            self._open[key] = record
            if record.order_key is not None:
                self._by_key.setdefault((record.endpoint, record.order_key), set()).add(record.id)
            return True

    async def arecord(self, record: EventRecord) -> bool:
        return self.record(record)  # never blocks: a lock held for microseconds

    def _remove(self, key: tuple[str, str]) -> None:
        self._records.pop(key)
        rec = self._open.pop(key, None)
        if rec is not None and rec.order_key is not None:
            self._unkey(rec)

    def _unkey(self, rec: EventRecord) -> None:
        """``rec`` (ordered) is finished or gone: no longer one of its key's unfinished events."""
        assert rec.order_key is not None
        members = self._by_key.get((rec.endpoint, rec.order_key))
        if members is not None:
            members.discard(rec.id)
            if not members:
                del self._by_key[(rec.endpoint, rec.order_key)]

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
            if not isinstance(rec, EventRecord):  # finished
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

    def claim(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        return self._claim(endpoint, event_id, now, lease, owner, ordered=False)

    def _claim(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None, *, ordered: bool
    ) -> EventRecord | None:
        """:meth:`claim`, or with ``ordered`` :meth:`claim_ordered` (held back by its resource, stale)."""
        with self._lock:
            rec = self._open.get((endpoint, event_id))
            if rec is None or not _claimable(rec, now):
                return None
            if not ordered or rec.order_key is None:
                return self._take(rec, now, lease, owner)
            if self._held_back(rec, now):
                return None
            out = self._take(rec, now, lease, owner)
            state = self._keys.get((endpoint, rec.order_key))
            last = None if state is None else state[0]
            out.stale = last is not None and rec.order_seq is not None and rec.order_seq < last
            return out

    def _take(self, rec: EventRecord, now: float, lease: float, owner: str | None) -> EventRecord:
        rec.status = _ST_PROCESSING
        rec.lease_until = now + lease
        rec.attempts += 1
        rec.updated_at = now
        rec.owner = owner
        return _copy(rec, share_headers=True)  # for processing only, which never changes them

    # -- ordering by resource (one lock: atomic like every other call here) ---------------------

    def _siblings(self, rec: EventRecord) -> Iterator[EventRecord]:
        assert rec.order_key is not None
        for other in self._by_key.get((rec.endpoint, rec.order_key), ()):
            if other != rec.id:
                yield self._open[(rec.endpoint, other)]

    def _held_back(self, rec: EventRecord, now: float) -> bool:
        """True if another event of ``rec``'s key holds it (processing, live lease) or comes first (pending)."""
        place = _place(rec)
        for other in self._siblings(rec):
            if _holds(other, now):
                return True
            if other.status is _ST_PENDING and _place(other) < place:
                return True
        return False

    def claim_ordered(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        return self._claim(endpoint, event_id, now, lease, owner, ordered=True)

    def settle_ordered(self, settle: Settle, advance: bool) -> str | None:
        endpoint, event_id, status, now, retry_at, error = settle
        with self._lock:
            rec = self._open.get((endpoint, event_id))
            if rec is None or not self._settle_locked(endpoint, event_id, status, now, retry_at, error):
                return None
            if rec.order_key is None:
                return None
            kkey = (endpoint, rec.order_key)
            if advance and rec.order_seq is not None:
                state = self._keys.setdefault(kkey, [None, None, now])
                if state[0] is None or rec.order_seq > state[0]:
                    state[0], state[1] = rec.order_seq, rec.id
                state[2] = now
            first: EventRecord | None = None
            for other in self._siblings(rec):
                if _holds(other, now):
                    return None
                if other.status is _ST_PENDING and (first is None or _place(other) < _place(first)):
                    first = other
            return None if first is None else first.id

    def due(self, now: float, recover_after: float, limit: int) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        with self._lock:
            for key, rec in self._open.items():
                if rec.status is _ST_PENDING and rec.received_at > now - recover_after:
                    continue
                if _claimable(rec, now) and (rec.order_key is None or not self._held_back(rec, now)):
                    out.append(key)
                    if len(out) >= limit:
                        break
        return out

    def handler_done(self, endpoint: str, event_id: str, handler: str) -> None:
        with self._lock:
            rec = self._open.get((endpoint, event_id))
            if rec is not None and handler not in rec.handlers_done:
                rec.handlers_done.append(handler)

    def complete(self, endpoint: str, event_id: str, now: float) -> None:
        self._settle(endpoint, event_id, _ST_DONE, now, None, None)

    def fail(self, endpoint: str, event_id: str, now: float, error: str, retry_at: float | None) -> None:
        self._settle(endpoint, event_id, _ST_DEAD if retry_at is None else _ST_FAILED, now, retry_at, error)

    def _settle(
        self, endpoint: str, event_id: str, status: Status, now: float, retry_at: float | None, error: str | None
    ) -> bool:
        with self._lock:
            return self._settle_locked(endpoint, event_id, status, now, retry_at, error)

    def _settle_locked(
        self, endpoint: str, event_id: str, status: Status, now: float, retry_at: float | None, error: str | None
    ) -> bool:
        key = (endpoint, event_id)
        rec = self._open.get(key)
        if rec is None or rec.status is not _ST_PROCESSING:
            return False
        _add_attempt(rec, Attempt(rec.attempts, rec.updated_at, now, outcome_of(status), error, rec.owner))
        rec.owner = None
        rec.last_error = error
        rec.lease_until = None
        rec.updated_at = now
        rec.status = status
        if status is _ST_FAILED:
            rec.next_attempt_at = retry_at
        else:
            del self._open[key]
            if rec.order_key is not None:
                self._unkey(rec)
            self._records[key] = _freeze(rec)
        return True

    # -- process registry (heartbeats) --------------------------------------------------------

    def register_process(self, info: ProcessInfo) -> None:
        with self._lock:
            self._processes[info.id] = dataclasses.replace(info)

    def heartbeat(self, process_id: str, now: float) -> bool:
        with self._lock:
            info = self._processes.get(process_id)
            if info is None:
                return False
            info.last_heartbeat = now
            return True

    def deregister_process(self, process_id: str) -> None:
        with self._lock:
            self._processes.pop(process_id, None)

    def processes(self) -> list[ProcessInfo]:
        with self._lock:
            found = [dataclasses.replace(p) for p in self._processes.values()]
        return sorted(found, key=lambda p: (p.started_at, p.id))

    def release_dead(self, now: float, timeout: float) -> list[tuple[ProcessInfo, list[tuple[str, str]]]]:
        out: list[tuple[ProcessInfo, list[tuple[str, str]]]] = []
        with self._lock:
            dead = [p for p in self._processes.values() if p.last_heartbeat < now - timeout]
            for info in sorted(dead, key=lambda p: (p.started_at, p.id)):
                del self._processes[info.id]
                message = dead_message(info, now)
                released = []
                for key, rec in self._open.items():
                    if rec.status is _ST_PROCESSING and rec.owner == info.id:
                        _add_attempt(rec, Attempt(rec.attempts, rec.updated_at, now, "released", message, info.id))
                        rec.status = _ST_FAILED
                        rec.next_attempt_at = now
                        rec.lease_until = None
                        rec.owner = None
                        rec.last_error = message
                        rec.updated_at = now
                        released.append(key)
                out.append((info, released))
        return out

    # -- inspection -------------------------------------------------------------------------

    def get(self, endpoint: str, event_id: str) -> EventRecord | None:
        with self._lock:
            rec = self._records.get((endpoint, event_id))
            return None if rec is None else _copy(rec)

    def find(self, event_id: str) -> list[EventRecord]:
        with self._lock:
            return [_copy(r) for (_, i), r in self._records.items() if i == event_id]

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
        f = Filters(endpoint, status, type, since, until, id_prefix)
        with self._lock:
            top = heapq.nlargest(limit, self._matching(f, before), key=_order)
            out = [_copy(entry) for entry in top]
        for rec in out:
            rec.body = None
        return out

    def replay(self, endpoint: str, event_id: str, now: float) -> bool:
        with self._lock:
            key = (endpoint, event_id)
            entry = self._records.get(key)
            if entry is None or _status(entry) in (Status.PENDING, Status.PROCESSING):
                return False
            rec = entry if isinstance(entry, EventRecord) else _thaw(entry)
            if rec.status is _ST_DONE:
                rec.handlers_done = []
            self._records[key] = rec
            self._open[key] = rec
            if rec.order_key is not None:
                self._by_key.setdefault((endpoint, rec.order_key), set()).add(rec.id)
            rec.status = _ST_PENDING
            rec.attempts = 0
            rec.next_attempt_at = None
            rec.lease_until = None
            rec.updated_at = now
            rec.received_at = min(rec.received_at, now)
            return True

    def purge(self, before: float, statuses: Sequence[Status] = (Status.DONE, Status.DEAD)) -> int:
        wanted = set(statuses)
        with self._lock:
            if Status.DONE in wanted:  # the newest handled event of keys quiet since ``before``
                for kkey in [k for k, state in self._keys.items() if state[2] < before]:
                    del self._keys[kkey]
            keys = []
            for k, r in self._records.items():
                _, _, state, received_at = _summary(r)
                if state in wanted and received_at < before:
                    keys.append(k)
            for key in keys:
                self._remove(key)
            return len(keys)

    def drop_bodies(self, before: float) -> int:
        with self._lock:
            keys = [
                k
                for k, r in self._records.items()
                if not isinstance(r, EventRecord) and r[_RECEIVED_AT] < before and r[_BODY] is not None
            ]
            for key in keys:
                r = self._records[key]
                assert not isinstance(r, EventRecord)
                self._records[key] = (*r[:_BODY], None, *r[_BODY + 1 :])
        return len(keys)

    def stats(self) -> StoreStats:
        out: StoreStats = {}
        with self._lock:
            for entry in self._records.values():
                ep, _, state, _ = _summary(entry)
                counts = out.setdefault(ep, {})
                value = state.value
                counts[value] = counts.get(value, 0) + 1
        return out

    def close(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self._records)

    # -- dashboard queries (scans: the memory store is bounded by max_events) ----------------

    def _matching(self, f: Filters, before: Cursor | None = None) -> Iterator[_Entry]:
        """The entries that pass ``f`` and come after ``before`` (call with the lock held)."""
        for entry in self._records.values():
            order = _order(entry)
            if before is not None and order >= before:
                continue
            if not f.key_matches(order[1], order[2], order[0]):
                continue
            _, kind, state, _ = _summary(entry)
            if f.rest_matches(state, kind):
                yield entry

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
        with self._lock:
            return sum(1 for _ in self._matching(Filters(endpoint, status, type, since, until, id_prefix)))

    def timeline(self, since: float, until: float, *, bucket: float = 60.0, endpoint: str | None = None) -> Timeline:
        """Per ``bucket`` seconds of ``[since, until)``: events received, and of those the handled and failed."""
        out = empty_timeline(since, until, bucket)
        with self._lock:
            for entry in self._records.values():
                if isinstance(entry, EventRecord):
                    ep, received, state, updated = entry.endpoint, entry.received_at, entry.status, entry.updated_at
                else:
                    ep, received, state, updated = (
                        entry[_ENDPOINT], entry[_RECEIVED_AT], entry[_STATUS], entry[_UPDATED_AT]
                    )  # fmt: skip
                if endpoint is None or ep == endpoint:
                    add_to_timeline(out, since, until, bucket, received, str(state), updated)
        return out

    def oldest_pending(self) -> dict[str, float]:
        """``{endpoint: received_at}`` of the oldest ``pending`` event of each endpoint that has one."""
        out: dict[str, float] = {}
        with self._lock:
            for rec in self._open.values():
                if rec.status is _ST_PENDING and rec.received_at < out.get(rec.endpoint, math.inf):
                    out[rec.endpoint] = rec.received_at
        return out

    def discard_dead(self, endpoint: str, event_id: str) -> bool:
        """Delete a ``dead`` event (an operator giving up on it); False if it is not dead."""
        with self._lock:
            key = (endpoint, event_id)
            entry = self._records.get(key)
            if entry is None or _status(entry) is not _ST_DEAD:
                return False
            self._remove(key)
            return True


_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(EventRecord) if f.init))


# positions in a frozen record
_ENDPOINT, _ID, _TYPE, _BODY, _HEADERS, _RECEIVED_AT, _TIMESTAMP, _STATUS, _ATTEMPTS, _ERROR, _DONE, _UPDATED_AT = (
    range(12)
)
_HISTORY = 12  # the attempts, flat: 6 atoms each (see _freeze)
_ORDER_KEY, _ORDER_SEQ = 13, 14


def _add_attempt(rec: EventRecord, attempt: Attempt) -> None:
    rec.history.append(attempt)
    if len(rec.history) > HISTORY_LIMIT:
        del rec.history[: len(rec.history) - HISTORY_LIMIT]


def _freeze(rec: EventRecord) -> _Frozen:
    """A finished record as a flat tuple of str, bytes, numbers and None (headers flattened).

    CPython stops tracking a tuple of atomic values at its first collection, so the
    collector never walks the finished events again (an EventRecord, a headers dict
    or a list inside would keep it tracked).
    """
    return (
        rec.endpoint,
        rec.id,
        rec.type,
        rec.body,
        tuple(chain.from_iterable(rec.headers.items())),  # flat: untracked in one collection
        rec.received_at,
        rec.timestamp,
        rec.status.value,
        rec.attempts,
        rec.last_error,
        tuple(rec.handlers_done),
        rec.updated_at,
        tuple(chain.from_iterable(_ATTEMPT_FIELDS(a) for a in rec.history)),  # flat, like the headers
        rec.order_key,
        rec.order_seq,
    )


_ATTEMPT_FIELDS = operator.attrgetter("number", "started_at", "finished_at", "outcome", "error", "process")


def _thaw(t: _Frozen) -> EventRecord:
    h = t[_HEADERS]
    return EventRecord(
        endpoint=t[_ENDPOINT],
        id=t[_ID],
        type=t[_TYPE],
        body=t[_BODY],
        headers=dict(zip(h[::2], h[1::2], strict=True)),
        received_at=t[_RECEIVED_AT],
        timestamp=t[_TIMESTAMP],
        status=Status(t[_STATUS]),
        attempts=t[_ATTEMPTS],
        last_error=t[_ERROR],
        handlers_done=list(t[_DONE]),
        updated_at=t[_UPDATED_AT],
        history=[Attempt(*t[_HISTORY][i : i + 6]) for i in range(0, len(t[_HISTORY]), 6)],
        order_key=t[_ORDER_KEY],
        order_seq=t[_ORDER_SEQ],
    )


def _summary(entry: _Entry) -> tuple[str, str, Status, float]:
    """``(endpoint, type, status, received_at)`` of either form."""
    if isinstance(entry, EventRecord):
        return entry.endpoint, entry.type, entry.status, entry.received_at
    return entry[_ENDPOINT], entry[_TYPE], Status(entry[_STATUS]), entry[_RECEIVED_AT]


def _order(entry: _Entry) -> tuple[float, str, str]:
    """The listing order of either form: ``(received_at, endpoint, id)``."""
    if isinstance(entry, EventRecord):
        return (entry.received_at, entry.endpoint, entry.id)
    return (entry[_RECEIVED_AT], entry[_ENDPOINT], entry[_ID])


def _status(entry: _Entry) -> Status:
    return entry.status if isinstance(entry, EventRecord) else Status(entry[_STATUS])


def _copy(entry: _Entry, *, share_headers: bool = False) -> EventRecord:
    """A copy the caller may change (faster than ``dataclasses.replace``, which inspects the fields each time)."""
    if not isinstance(entry, EventRecord):
        return _thaw(entry)
    new = EventRecord(*_FIELDS(entry))
    if not share_headers:
        new.headers = dict(entry.headers)
    new.handlers_done = list(entry.handlers_done)
    new.history = list(entry.history)
    return new


def _holds(rec: EventRecord, now: float) -> bool:
    """``rec`` holds its resource: processing under a lease that has not ended."""
    return rec.status is _ST_PROCESSING and rec.lease_until is not None and rec.lease_until > now


def _place(rec: EventRecord) -> tuple[float, float, str]:
    """Where ``rec`` stands among its key's events: ``(order_seq, received_at, id)``."""
    return (rec.order_seq if rec.order_seq is not None else -math.inf, rec.received_at, rec.id)


def _claimable(rec: EventRecord, now: float) -> bool:
    if rec.status is _ST_PENDING:
        return True
    if rec.status is _ST_FAILED:
        return rec.next_attempt_at is None or rec.next_attempt_at <= now
    if rec.status is _ST_PROCESSING:
        return rec.lease_until is not None and rec.lease_until <= now
    return False
