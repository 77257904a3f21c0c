"""A :class:`~hookinbox.stores.Store` on the Django database: ``store = "django://"`` (or ``"django://ALIAS"``).

Django users need no second database: events live in the ``hookinbox_event``
table (``manage.py migrate``) and show up in the admin. :meth:`record` is an
INSERT that the unique constraint on ``(endpoint, event_id)`` makes atomic
(the ``IntegrityError`` of a duplicate is caught inside a savepoint, so an
enclosing transaction survives); :meth:`claim` is a conditional UPDATE checked
by its row count, so one claimer wins on any database Django supports.

Settling appends an attempt to the row's ``history``: the row is read, then updated on the
condition that its status, attempts and claim time are still the ones read (compare-and-set,
re-read on a lost race), which needs no read-then-write transaction (that SQLite in WAL mode
refuses with "database is locked" under contention). Processes (heartbeats) are rows of
``hookinbox_process``; :meth:`release_dead` deletes a dead process's row first and releases its
claims only if that delete removed it, in one transaction: one sweeper prunes it.

Ordering by resource (endpoints with ``order_by``): each resource has a row of ``hookinbox_order_key``
(:class:`~hookinbox.django.models.OrderKey`, its ``last_seq``) that is also its lock.
:meth:`claim_ordered` and :meth:`settle_ordered` begin their transaction by writing that row (an UPDATE
that changes nothing, or the INSERT of a new key): a row lock on PostgreSQL and MySQL, and on SQLite a
write as the first statement takes the database's write lock whatever the ``transaction_mode`` (a read
first would let a deferred transaction fail with "database is locked" when it then writes, and a
``SELECT ... FOR UPDATE`` after an insert-or-get would, on MySQL, upgrade a shared lock: a deadlock
between two claimers). The checks that follow in the transaction see every committed claim of the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Floor, Least

from hookinbox.django.models import InboxEvent, OrderKey, Process
from hookinbox.events import FINISHED, Attempt, EventRecord, ProcessInfo, Status
from hookinbox.stores import StoreStats
from hookinbox.stores._base import (
    Settle,
    StoreBase,
    append_attempt,
    dead_message,
    history_from_json,
    outcome_of,
)
from hookinbox.stores._query import TIMELINE_STATUSES, Cursor, Timeline, empty_timeline

__all__ = ["DjangoStore"]

T = TypeVar("T")

_LIST_FIELDS = [f.name for f in InboxEvent._meta.get_fields() if f.name not in ("body", "id", "history")]
_PROCESSING = Status.PROCESSING.value
_PENDING = Status.PENDING.value
#: the order of the events of one resource
_IN_ORDER = ("order_seq", "received_at", "event_id")


class DjangoStore(StoreBase):
    durable = True
    blocking = True

    def __init__(
        self, alias: str = "default", *, dedup_ttl: float = 7 * 86400.0, clock: Callable[[], float] = time.time
    ):
        self.alias = alias
        self.dedup_ttl = dedup_ttl
        self.clock = clock

    @classmethod
    def from_url(cls, url: str, **options: Any) -> DjangoStore:
        alias = url.split("://", 1)[1].strip("/") if "://" in url else ""
        kwargs = {k: options[k] for k in ("dedup_ttl", "clock") if k in options}
        return cls(alias or "default", **kwargs)

    def _rows(self) -> QuerySet[InboxEvent]:
        return InboxEvent.objects.using(self.alias)

    def _key(self, endpoint: str, event_id: str) -> QuerySet[InboxEvent]:
        return self._rows().filter(endpoint=endpoint, event_id=event_id)

    # -- hot path ---------------------------------------------------------------------------

    def record(self, record: EventRecord) -> bool:
        for _ in range(2):
            try:
                with transaction.atomic(using=self.alias):
                    self._rows().create(
                        endpoint=record.endpoint,
                        event_id=record.id,
                        type=record.type,
                        status=Status.PENDING.value,
                        received_at=record.received_at,
                        updated_at=record.received_at,
                        timestamp=record.timestamp,
                        headers=record.headers,
                        body=record.body,
                        order_key=record.order_key,
                        order_seq=record.order_seq if record.order_key is not None else None,
                    )
                return True
            except IntegrityError:
                # A duplicate, unless the earlier event finished longer ago than dedup_ttl.
                expired = self._key(record.endpoint, record.id).filter(
                    status__in=[s.value for s in FINISHED], updated_at__lt=self.clock() - self.dedup_ttl
                )
                if not expired.delete()[0]:
                    return False
        return False

    async def arecord(self, record: EventRecord) -> bool:
        return await sync_to_async(self.record)(record)

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        return await sync_to_async(fn)(*args)  # Django's connections are per thread: its own executor

    def discard(self, endpoint: str, event_id: str) -> None:
        self._key(endpoint, event_id).delete()

    # -- processing -------------------------------------------------------------------------

    def _claimable(self, now: float) -> Q:
        return (
            Q(status=Status.PENDING.value)
            | Q(status=Status.FAILED.value, next_attempt_at__isnull=True)
            | Q(status=Status.FAILED.value, next_attempt_at__lte=now)
            | Q(status=Status.PROCESSING.value, lease_until__lte=now)
        )

    def claim(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        won = (
            self._key(endpoint, event_id)
            .filter(self._claimable(now))
            .update(
                status=Status.PROCESSING.value,
                lease_until=now + lease,
                attempts=F("attempts") + 1,
                updated_at=now,
                owner=owner,
            )
        )
        return self.get(endpoint, event_id) if won else None

    def due(self, now: float, recover_after: float, limit: int) -> list[tuple[str, str]]:
        fresh = Q(status=Status.PENDING.value, received_at__gt=now - recover_after)
        rows = self._rows().filter(self._claimable(now)).exclude(fresh)
        # an ordered event that claim_ordered would refuse is not due: else a page of a sweep could fill
        # with the held-back events of a busy resource, and the sweeper spin on them
        others = InboxEvent.objects.filter(endpoint=OuterRef("endpoint"), order_key=OuterRef("order_key"))
        blockers = _held_back_by(
            others.exclude(pk=OuterRef("pk")), now, OuterRef("order_seq"), OuterRef("received_at"), OuterRef("event_id")
        )
        rows = rows.filter(Q(order_key__isnull=True) | ~Exists(blockers)).order_by("received_at")
        return [(e, i) for e, i in rows.values_list("endpoint", "event_id")[:limit]]

    # -- ordering by resource -------------------------------------------------------------------

    def _keys(self) -> QuerySet[OrderKey]:
        return OrderKey.objects.using(self.alias)

    def _lock_key(self, endpoint: str, key: str, now: float) -> OrderKey:
        """The key's state row, created if new, locked until the enclosing transaction ends (see the module
        docstring: a write first, for SQLite and MySQL)."""
        row = self._keys().filter(endpoint=endpoint, key=key)
        state: OrderKey
        if not row.update(updated_at=F("updated_at")):
            try:
                with transaction.atomic(using=self.alias):
                    state = self._keys().create(endpoint=endpoint, key=key, updated_at=now)
                    return state
            except IntegrityError:  # created meanwhile by another claimer, who committed: lock it now
                row.update(updated_at=F("updated_at"))
        state = row.get()
        return state

    def claim_ordered(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        head = self._key(endpoint, event_id).only("order_key").first()
        if head is None:  # not a plain claim: the event may be recorded in between, ordered
            return None
        if head.order_key is None:
            return self.claim(endpoint, event_id, now, lease, owner)
        key = head.order_key
        with transaction.atomic(using=self.alias):
            state = self._lock_key(endpoint, key, now)
            row = self._key(endpoint, event_id).filter(order_key=key).only(*_IN_ORDER, "pk").first()
            if row is None:
                return None
            others = self._rows().filter(endpoint=endpoint, order_key=key).exclude(pk=row.pk)
            if _held_back_by(others, now, row.order_seq, row.received_at, row.event_id).exists():
                return None
            claimed = self.claim(endpoint, event_id, now, lease, owner)
        if claimed is not None:
            seq, last = claimed.order_seq, state.last_seq
            claimed.stale = last is not None and seq is not None and seq < last
        return claimed

    def settle_ordered(self, settle: Settle, advance: bool) -> str | None:
        endpoint, event_id, _, now, _, _ = settle
        head = self._key(endpoint, event_id).only("order_key", "order_seq").first()
        if head is None:
            return None
        if head.order_key is None:
            self._settle(*settle)
            return None
        key, seq = head.order_key, head.order_seq
        with transaction.atomic(using=self.alias):
            state = self._lock_key(endpoint, key, now)
            if not self._settle(*settle):
                return None
            if advance:
                raised = seq is not None and (state.last_seq is None or seq > state.last_seq)
                values: dict[str, Any] = {"last_seq": seq, "last_id": event_id} if raised else {}
                self._keys().filter(pk=state.pk).update(**values, updated_at=now)
            of_key = self._rows().filter(endpoint=endpoint, order_key=key)
            if of_key.filter(status=_PROCESSING, lease_until__gt=now).exists():
                return None
            following = of_key.filter(status=_PENDING).exclude(event_id=event_id).order_by(*_IN_ORDER)
            nxt: str | None = following.values_list("event_id", flat=True).first()
            return nxt

    def handler_done(self, endpoint: str, event_id: str, handler: str) -> None:
        # Only the lease holder writes this field, so a read then a write is safe without a
        # read-then-write transaction (which SQLite in WAL mode refuses with "database is locked").
        row = self._key(endpoint, event_id).only("pk", "handlers_done").first()
        if row is not None and handler not in row.handlers_done:
            self._rows().filter(pk=row.pk).update(handlers_done=[*row.handlers_done, handler])

    def _settle(
        self, endpoint: str, event_id: str, status: Status, now: float, retry_at: float | None, error: str | None
    ) -> bool:
        values = {"status": status.value, "last_error": error, "lease_until": None, "next_attempt_at": retry_at}
        return self._finish_attempt(self._key(endpoint, event_id), now, outcome_of(status), error, values)

    def _finish_attempt(
        self, rows: QuerySet[InboxEvent], now: float, outcome: str, error: str | None, values: dict[str, Any]
    ) -> bool:
        """Update the ``processing`` row of ``rows`` with ``values``, no owner, and the attempt appended to its
        history, compare-and-set on what was read (re-read if a claim or settlement got in between)."""
        for _ in range(5):
            row = rows.filter(status=_PROCESSING).only("pk", "attempts", "updated_at", "owner", "history").first()
            if row is None:
                return False
            attempt = Attempt(row.attempts, row.updated_at, now, outcome, error, row.owner)
            history = [a.to_dict() for a in append_attempt(history_from_json(row.history), attempt)]
            same = self._rows().filter(
                pk=row.pk, status=_PROCESSING, attempts=row.attempts, updated_at=row.updated_at, owner=row.owner
            )
            if same.update(**values, owner=None, updated_at=now, history=history):
                return True
        return False

    # -- process registry (heartbeats) --------------------------------------------------------

    def _procs(self) -> QuerySet[Process]:
        return Process.objects.using(self.alias)

    def register_process(self, info: ProcessInfo) -> None:
        fields = info.to_dict()
        del fields["id"]
        self._procs().update_or_create(id=info.id, defaults=fields)

    def heartbeat(self, process_id: str, now: float) -> bool:
        return bool(self._procs().filter(id=process_id).update(last_heartbeat=now) == 1)

    def deregister_process(self, process_id: str) -> None:
        self._procs().filter(id=process_id).delete()

    def processes(self) -> list[ProcessInfo]:
        return [_process(p) for p in self._procs().order_by("started_at", "id")]

    def release_dead(self, now: float, timeout: float) -> list[tuple[ProcessInfo, list[tuple[str, str]]]]:
        cutoff = now - timeout
        out: list[tuple[ProcessInfo, list[tuple[str, str]]]] = []
        for proc in self._procs().filter(last_heartbeat__lt=cutoff).order_by("started_at", "id"):
            info = _process(proc)
            with transaction.atomic(using=self.alias):
                # the delete first: of concurrent sweepers, the one whose delete removed the row releases
                if not self._procs().filter(id=info.id, last_heartbeat__lt=cutoff).delete()[0]:
                    continue
                message = dead_message(info, now)
                values = {"status": Status.FAILED.value, "last_error": message, "lease_until": None,
                          "next_attempt_at": now}  # fmt: skip
                owned = self._rows().filter(status=_PROCESSING, owner=info.id).order_by("endpoint", "event_id")
                released = []
                for endpoint, event_id in list(owned.values_list("endpoint", "event_id")):
                    key = self._key(endpoint, event_id).filter(owner=info.id)
                    if self._finish_attempt(key, now, "released", message, values):
                        released.append((endpoint, event_id))
            out.append((info, released))
        return out

    # -- inspection -------------------------------------------------------------------------

    def get(self, endpoint: str, event_id: str) -> EventRecord | None:
        row = self._key(endpoint, event_id).first()
        return None if row is None else to_record(row)

    def find(self, event_id: str) -> list[EventRecord]:
        return [to_record(r) for r in self._rows().filter(event_id=event_id)]

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
        rows = self._filtered(endpoint, status, type, since, until, id_prefix).only(*_LIST_FIELDS)
        if before is not None:
            at, ep, event_id = before
            rows = rows.filter(
                Q(received_at__lt=at)
                | Q(received_at=at, endpoint__lt=ep)
                | Q(received_at=at, endpoint=ep, event_id__lt=event_id),
                received_at__lte=at,
            )
        rows = rows.order_by("-received_at", "-endpoint", "-event_id")
        return [to_record(r, with_body=False) for r in rows[:limit]]

    def _filtered(
        self,
        endpoint: str | None,
        status: Status | None,
        type: str | None,
        since: float | None,
        until: float | None,
        id_prefix: str | None,
    ) -> QuerySet[InboxEvent]:
        rows = self._rows()
        if endpoint is not None:
            rows = rows.filter(endpoint=endpoint)
        if status is not None:
            rows = rows.filter(status=Status(status).value)
        if type is not None:
            rows = rows.filter(type=type)
        if since is not None:
            rows = rows.filter(received_at__gte=since)
        if until is not None:
            rows = rows.filter(received_at__lt=until)
        if id_prefix:
            rows = rows.filter(event_id__startswith=id_prefix)
        return rows

    def replay(self, endpoint: str, event_id: str, now: float) -> bool:
        fresh = {
            "status": Status.PENDING.value,
            "attempts": 0,
            "next_attempt_at": None,
            "lease_until": None,
            "updated_at": now,
            "received_at": Least(F("received_at"), now),
        }
        key = self._key(endpoint, event_id)
        kept = [Status.DEAD.value, Status.FAILED.value, Status.STALE.value]  # handlers that succeeded stay done
        with transaction.atomic(using=self.alias):
            n = key.filter(status=Status.DONE.value).update(handlers_done=[], **fresh)
            n += key.filter(status__in=kept).update(**fresh)
        return bool(n > 0)

    def purge(self, before: float, statuses: Sequence[Status] = (Status.DONE, Status.DEAD)) -> int:
        wanted = [Status(s).value for s in statuses]
        n = int(self._rows().filter(status__in=wanted, received_at__lt=before).delete()[0])
        if Status.DONE.value in wanted:  # the last_seq of resources quiet since ``before`` goes with their events
            self._keys().filter(updated_at__lt=before).delete()
        return n

    def drop_bodies(self, before: float) -> int:
        finished = [s.value for s in FINISHED]
        rows = self._rows().filter(status__in=finished, received_at__lt=before, body__isnull=False)
        return int(rows.update(body=None))

    def stats(self) -> StoreStats:
        out: StoreStats = {}
        for row in self._rows().order_by().values("endpoint", "status").annotate(n=Count("pk")):
            out.setdefault(row["endpoint"], {})[row["status"]] = row["n"]
        return out

    def close(self) -> None:
        pass  # connections belong to Django

    # -- dashboard queries ------------------------------------------------------------------

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
        return int(self._filtered(endpoint, status, type, since, until, id_prefix).count())

    def timeline(self, since: float, until: float, *, bucket: float = 60.0, endpoint: str | None = None) -> Timeline:
        """Per ``bucket`` seconds of ``[since, until)``: events received, and of those the handled and failed."""
        out = empty_timeline(since, until, bucket)
        size = len(out["received"])
        window = self._filtered(endpoint, None, None, since, until, None).order_by()
        received = window.annotate(b=Floor((F("received_at") - since) / bucket)).values("b").annotate(n=Count("pk"))
        for row in received:
            if 0 <= int(row["b"]) < size:
                out["received"][int(row["b"])] += row["n"]
        settled = (
            window.filter(status__in=list(TIMELINE_STATUSES), updated_at__gte=since, updated_at__lt=until)
            .annotate(u=Floor((F("updated_at") - since) / bucket))
            .values("status", "u")
            .annotate(n=Count("pk"))
        )
        for row in settled:
            if 0 <= int(row["u"]) < size:
                out[TIMELINE_STATUSES[row["status"]]][int(row["u"])] += row["n"]
        return out

    def oldest_pending(self) -> dict[str, float]:
        """``{endpoint: received_at}`` of the oldest ``pending`` event of each endpoint that has one."""
        rows = self._rows().filter(status=Status.PENDING.value).order_by().values("endpoint")
        return {r["endpoint"]: float(r["t"]) for r in rows.annotate(t=Min("received_at"))}

    def discard_dead(self, endpoint: str, event_id: str) -> bool:
        """Delete a ``dead`` event (an operator giving up on it); False if it is not dead."""
        return bool(self._key(endpoint, event_id).filter(status=Status.DEAD.value).delete()[0])


def _held_back_by(others: QuerySet[InboxEvent], now: float, seq: Any, at: Any, event_id: Any) -> QuerySet[InboxEvent]:
    """Of ``others`` (the other events of one resource), those that hold back its event at
    ``(seq, at, event_id)``: one processing under a live lease, or a pending one before it in order. The
    values may be ``OuterRef`` expressions (:meth:`DjangoStore.due` asks it of every candidate in one query). A
    ``failed`` earlier event holds nothing back (one poison event must not block its resource)."""
    earlier = (
        Q(order_seq__lt=seq)
        | Q(order_seq=seq, received_at__lt=at)
        | Q(order_seq=seq, received_at=at, event_id__lt=event_id)
    )
    return others.filter(Q(status=_PROCESSING, lease_until__gt=now) | (Q(status=_PENDING) & earlier))


def _process(p: Process) -> ProcessInfo:
    return ProcessInfo(
        id=p.id, host=p.host, pid=p.pid, kind=p.kind, started_at=p.started_at, last_heartbeat=p.last_heartbeat
    )


def to_record(row: InboxEvent, *, with_body: bool = True) -> EventRecord:
    """The store-neutral record of a row (``with_body=False``: a listed row, without body or history)."""
    body = row.body if with_body else None
    return EventRecord(
        endpoint=row.endpoint,
        id=row.event_id,
        type=row.type,
        body=None if body is None else bytes(body),
        headers=dict(row.headers or {}),
        received_at=row.received_at,
        timestamp=row.timestamp,
        status=Status(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_until=row.lease_until,
        last_error=row.last_error,
        handlers_done=list(row.handlers_done or []),
        updated_at=row.updated_at,
        history=history_from_json(row.history) if with_body else [],
        owner=row.owner,
        order_key=row.order_key,
        order_seq=row.order_seq,
    )
