"""Ordering by resource in the SQL store: ``claim_ordered``, ``settle_ordered`` and the condition ``due``
adds (the contract: :class:`~hookinbox.stores.Store`; the model: docs/ordering.md).

**One lock per resource.** Each ``(endpoint, order_key)`` has a row in ``<prefix>order_keys`` (its
``last_seq``, ``last_id``, ``updated_at``). ``claim_ordered`` and ``settle_ordered`` make sure it exists
(insert-if-absent) and lock it (``SELECT ... FOR UPDATE``; SQLite has one writer at a time, and every
transaction here begins IMMEDIATE) *before* they touch an event row. So two claims of one resource are
serialized across threads and processes, and within the lock a claim checks its siblings and then
updates its event by primary key: no subquery on the table being updated (MariaDB refuses one).

**Lock order.** Key row first, then event rows, in both methods: they cannot deadlock with each other,
and the batched claims and settlements (``sql.py``), which lock event rows only and never wait for a
key row, cannot close a cycle with them. A deadlock or lock timeout still reruns the transaction
(``_transaction``).

**Seeing the latest rows.** The siblings are read after the lock is granted. PostgreSQL and MariaDB run
READ COMMITTED (``create_engine``), where each statement sees what committed before it began; on
MariaDB the sibling check is a locking read too (``LOCK IN SHARE MODE`` reads the latest committed
rows whatever isolation level ``engine_options`` may have set, REPEATABLE READ being its default).

**No group commit.** Ordered claims and settlements are one event at a time (the next event of a resource
waits for the previous one anyway), so they run their own transaction instead of going through the
batch writers. On SQLite they first take the writers' turn (the store's :class:`FairLock`), like a
batch does, then the one pooled connection: the same order as the writers, so nobody waits for the
connection while holding the turn another needs, and ordered calls are not starved by a busy writer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from hookinbox.events import EventRecord, Status
from hookinbox.stores._base import Settle, outcome_of
from hookinbox.stores._groupcommit import FairLock
from hookinbox.stores._sqlqueries import record_from_row
from hookinbox.stores._sqlschema import Tables

__all__ = ["SQLOrdering", "before"]

T = TypeVar("T")
_PENDING = Status.PENDING.value
_PROCESSING = Status.PROCESSING.value


def before(
    c: Any, seq: sa.ColumnElement[Any], received_at: sa.ColumnElement[Any], event_id: sa.ColumnElement[Any]
) -> sa.ColumnElement[bool]:
    """The event of columns ``c`` comes before ``(seq, received_at, event_id)`` in its resource's order
    (``(order_seq, received_at, id)`` ascending), spelled out rather than as a row-value comparison."""
    earlier_same_seq = sa.or_(c.received_at < received_at, sa.and_(c.received_at == received_at, c.id < event_id))
    return sa.or_(c.order_seq < seq, sa.and_(c.order_seq == seq, earlier_same_seq))


def blocking(
    c: Any,
    endpoint: Any,
    key: Any,
    event_id: Any,
    seq: Any,
    received_at: Any,
    now: Any,
) -> sa.ColumnElement[bool]:
    """A row of columns ``c`` that keeps the event ``(endpoint, event_id)`` of resource ``key`` from being
    claimed: another event of the resource (a) processing under a live lease, or (b) pending and before it."""
    return sa.and_(
        c.endpoint == endpoint,
        c.order_key == key,
        c.id != event_id,
        sa.or_(holds(c, now), sa.and_(c.status == _PENDING, before(c, seq, received_at, event_id))),
    )


def holds(c: Any, now: Any) -> sa.ColumnElement[bool]:
    """The event of columns ``c`` holds its resource: processing under a lease that has not ended."""
    return sa.and_(c.status == _PROCESSING, c.lease_until > now)


@dataclass(frozen=True, slots=True)
class _Statements:
    """The ordered claim's and settlement's statements, with named parameters (``o_ep``, ``o_id``, ...)."""

    head: sa.Select[Any]
    lock: sa.Select[Any]
    check: sa.Select[Any]
    row: sa.Select[Any]
    raise_last: sa.Update
    touch: sa.Update
    next: sa.Select[Any]
    #: the event's row for its settlement, locked by its primary key (see ``_processing_rows`` in _sqlprocs.py)
    settle_row: sa.Select[Any]
    #: the claim returning the claimed row (PostgreSQL, SQLite), else None (claim, then read ``row``)
    claim_returning: sa.Update | None


class SQLOrdering:
    """``claim_ordered``/``settle_ordered`` of :class:`~hookinbox.stores.sql.SQLStore`, which sets the attributes."""

    engine: sa.Engine
    dialect: str
    tables: Tables
    t: sa.Table
    _turn: FairLock | None
    _claim_stmt: sa.Update
    _settle_stmt: sa.Update

    if TYPE_CHECKING:  # provided by the store's other bases; declared here for the type checker only (at
        # run time this class comes first in SQLStore's bases, ahead of StoreBase's refusing defaults)

        def _setup(self) -> None: ...

        def _transaction(self, work: Callable[[sa.Connection], T]) -> T: ...

        def _appended(self, row: Any, now: float, outcome: str, error: str | None, process: str | None) -> str: ...

        def claim(
            self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
        ) -> EventRecord | None: ...

    # -- the two calls --------------------------------------------------------------------------

    def claim_ordered(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        self._setup()
        ordered, got = self._in_turn(lambda conn: self._claim_ordered(conn, endpoint, event_id, now, lease, owner))
        if not ordered:  # no resource: a plain claim, through the batched claim writer (outside the turn)
            return self.claim(endpoint, event_id, now, lease, owner)
        return got

    def settle_ordered(self, settle: Settle, advance: bool) -> str | None:
        self._setup()
        return self._in_turn(lambda conn: self._settle_ordered(conn, settle, advance))

    def settle_ordered_next(
        self, settle: Settle, advance: bool, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        """Settle, and claim the resource's next event in the same transaction: the resource's row is
        locked already and the next event was found with the claim's own conditions (first pending, none
        processing), so neither the lock nor the held-back check is repeated (one commit per event)."""
        self._setup()
        return self._in_turn(lambda conn: self._settle_ordered(conn, settle, advance, (lease, owner)))

    def _in_turn(self, work: Callable[[sa.Connection], T]) -> T:
        """``work`` in one transaction, taking SQLite's writer turn first (see the module docstring)."""
        if self._turn is None:
            return self._transaction(work)
        with self._turn:
            return self._transaction(work)

    # -- statements, built once (building and keying an expression per call cost more than running it) --

    @functools.cached_property
    def _ord(self) -> _Statements:
        c, k = self.t.c, self.tables.order_keys.c
        ep: sa.BindParameter[str] = sa.bindparam("o_ep")
        eid: sa.BindParameter[str] = sa.bindparam("o_id")
        key: sa.BindParameter[str] = sa.bindparam("o_key")
        now: sa.BindParameter[float] = sa.bindparam("o_now", type_=sa.Double())
        seq: sa.BindParameter[float] = sa.bindparam("o_seq", type_=sa.Double())
        this = (c.endpoint == ep, c.id == eid)
        check = sa.select(c.id).where(blocking(c, ep, key, eid, seq, sa.bindparam("o_recv", type_=sa.Double()), now))
        check = check.limit(1)
        if self.dialect in ("mysql", "mariadb"):  # a locking read; the resource's index (see _due_in_order)
            check = check.with_for_update(read=True)
            check = check.with_hint(self.t, f"FORCE INDEX ({self.tables.prefix}ix_order)", dialect_name=self.dialect)
        live = self.t.alias("live")
        held = sa.exists().where(live.c.endpoint == ep, live.c.order_key == key, holds(live.c, now))
        resource = (k.endpoint == ep, k.key == key)
        keys = self.tables.order_keys
        return _Statements(
            head=sa.select(c.order_key, c.order_seq, c.received_at, c.status).where(*this),
            lock=sa.select(k.last_seq).where(*resource).with_for_update(),
            check=check,
            row=sa.select(self.t).where(*this),
            raise_last=keys.update().where(*resource).values(updated_at=now, last_seq=seq, last_id=eid),
            touch=keys.update().where(*resource).values(updated_at=now),
            next=(  # the first pending one, unless one of the resource is processing under a live lease
                sa.select(c.id)
                .where(c.endpoint == ep, c.order_key == key, c.status == _PENDING, c.id != eid, ~held)
                .order_by(c.order_seq, c.received_at, c.id)
                .limit(1)
            ),
            settle_row=sa.select(c.status, c.attempts, c.updated_at, c.owner, c.history).where(*this).with_for_update(),
            claim_returning=(
                self._claim_stmt.returning(*self.t.c) if self.dialect in ("postgresql", "sqlite") else None
            ),
        )

    # -- in the transaction -----------------------------------------------------------------------

    def _claim_ordered(
        self, conn: sa.Connection, endpoint: str, event_id: str, now: float, lease: float, owner: str | None
    ) -> tuple[bool, EventRecord | None]:
        """(False, None) for an unordered event (the caller claims it plainly); else (True, the claim or None)."""
        q = self._ord
        head = conn.execute(q.head, {"o_ep": endpoint, "o_id": event_id}).first()
        if head is None:
            return True, None
        if head.order_key is None:
            return False, None
        if head.status in (Status.DONE.value, Status.DEAD.value, Status.STALE.value):
            return True, None  # not claimable: no need to lock its resource
        last_seq = self._lock_key(conn, endpoint, head.order_key, now)
        params = {"o_ep": endpoint, "o_key": head.order_key, "o_id": event_id, "o_seq": head.order_seq,
                  "o_recv": head.received_at, "o_now": now}  # fmt: skip
        if conn.execute(q.check, params).first() is not None:
            return True, None
        got = self._take(conn, endpoint, event_id, now, lease, owner)
        if got is not None:
            got.stale = last_seq is not None and got.order_seq is not None and got.order_seq < last_seq
        return True, got

    def _take(
        self, conn: sa.Connection, endpoint: str, event_id: str, now: float, lease: float, owner: str | None
    ) -> EventRecord | None:
        """Claim one event (the store's claim statement) and return it, or None if it was not claimable."""
        q = self._ord
        params = {"k_endpoint": endpoint, "k_id": event_id, "k_now": now, "k_lease_until": now + lease,
                  "k_owner": owner}  # fmt: skip
        if q.claim_returning is not None:
            row = conn.execute(q.claim_returning, params).first()
            return None if row is None else record_from_row(row._mapping)
        if not conn.execute(self._claim_stmt, params).rowcount:
            return None
        return record_from_row(conn.execute(q.row, {"o_ep": endpoint, "o_id": event_id}).one()._mapping)

    @overload
    def _settle_ordered(self, conn: sa.Connection, settle: Settle, advance: bool) -> str | None: ...

    @overload
    def _settle_ordered(
        self, conn: sa.Connection, settle: Settle, advance: bool, then: tuple[float, str | None]
    ) -> EventRecord | None: ...

    def _settle_ordered(
        self, conn: sa.Connection, settle: Settle, advance: bool, then: tuple[float, str | None] | None = None
    ) -> str | EventRecord | None:
        """Settle; the id of the resource's next event, or with ``then = (lease, owner)`` that event claimed."""
        endpoint, event_id, status, now, retry_at, error = settle
        q = self._ord
        head = conn.execute(q.head, {"o_ep": endpoint, "o_id": event_id}).first()
        if head is None:
            return None
        resource: str | None = head.order_key
        last_seq = None if resource is None else self._lock_key(conn, endpoint, resource, now)  # key row first
        row = conn.execute(q.settle_row, {"o_ep": endpoint, "o_id": event_id}).first()
        if row is None or row.status != _PROCESSING:
            return None
        params = {"k_endpoint": endpoint, "k_id": event_id, "k_status": status.value, "k_now": now,
                  "k_retry": retry_at, "k_error": error,
                  "k_history": self._appended(row, now, outcome_of(status), error, row.owner)}  # fmt: skip
        conn.execute(self._settle_stmt, params)  # the row is locked and processing: it applies
        if resource is None:
            return None
        if advance:
            self._advance(conn, endpoint, resource, event_id, head.order_seq, last_seq, now)
            if head.order_seq is not None and (last_seq is None or head.order_seq > last_seq):
                last_seq = head.order_seq
        found: str | None = conn.execute(q.next, {"o_ep": endpoint, "o_key": resource, "o_id": event_id,
                                                  "o_now": now}).scalar()  # fmt: skip
        if then is None or found is None:
            return found
        got = self._take(conn, endpoint, found, now, *then)
        if got is not None:
            got.stale = last_seq is not None and got.order_seq is not None and got.order_seq < last_seq
        return got

    def _lock_key(self, conn: sa.Connection, endpoint: str, key: str, now: float) -> float | None:
        """Create the resource's row if it is missing, lock it, and return its ``last_seq``."""
        lock, where = self._ord.lock, {"o_ep": endpoint, "o_key": key}
        found = conn.execute(lock, where).first()  # the usual case: the resource's row exists (one statement)
        if found is not None:
            return None if found.last_seq is None else float(found.last_seq)
        k = self.tables.order_keys
        row = {"endpoint": endpoint, "key": key, "last_seq": None, "last_id": None, "updated_at": now}
        if self.dialect == "postgresql":
            conn.execute(postgresql.insert(k).on_conflict_do_nothing(), row)
        elif self.dialect == "sqlite":
            conn.execute(sqlite.insert(k).on_conflict_do_nothing(), row)
        else:  # a no-op update when it exists (not INSERT IGNORE, which would also swallow other errors)
            ins = mysql.insert(k)
            conn.execute(ins.on_duplicate_key_update(updated_at=k.c.updated_at), row)
        last = conn.execute(lock, where).scalar()  # created here, or by a concurrent claimer we waited for
        return None if last is None else float(last)

    def _advance(
        self,
        conn: sa.Connection,
        endpoint: str,
        key: str,
        event_id: str,
        seq: float | None,
        last_seq: float | None,
        now: float,
    ) -> None:
        """``last_seq = max(last_seq, seq)`` (NULL is lower), ``last_id`` when raised, ``updated_at = now``.

        The maximum is taken here, from the value read under the lock, not in the UPDATE: MariaDB
        evaluates SET assignments left to right, so a ``last_id`` condition would see the new ``last_seq``."""
        params = {"o_ep": endpoint, "o_key": key, "o_now": now}
        if seq is not None and (last_seq is None or seq > last_seq):
            conn.execute(self._ord.raise_last, {**params, "o_seq": seq, "o_id": event_id})
        else:
            conn.execute(self._ord.touch, params)

    def _due_in_order(self, now: float) -> sa.ColumnElement[bool]:
        """What ``due`` adds: an ordered event only when ``claim_ordered`` would not refuse it; unordered
        events (``order_key IS NULL``) pass without the correlated lookup."""
        c = self.t.c
        o = self.t.alias("sibling")
        siblings = sa.select(sa.literal(1)).select_from(o)
        siblings = siblings.where(blocking(o.c, c.endpoint, c.order_key, c.id, c.order_seq, c.received_at, now))
        for name in ("mysql", "mariadb"):  # MariaDB picks the primary key (endpoint, id) and scans a whole
            # endpoint per candidate (a 10,000-event backlog timed the sweep out); the resource's index it is
            siblings = siblings.with_hint(o, f"FORCE INDEX ({self.tables.prefix}ix_order)", dialect_name=name)
        return sa.or_(c.order_key.is_(None), ~siblings.exists())
