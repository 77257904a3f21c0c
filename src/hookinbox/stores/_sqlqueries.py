"""The operator's side of the SQL store: inspection (get, find, list, stats, the dashboard's
keyset pages, timeline and counts), replay, retention (purge, drop_bodies) and the untimed
transactions they and the DDL run in.

:class:`SQLQueries` is the base of :class:`~hookinbox.stores.sql.SQLStore`. The split follows who
calls what: ``sql.py`` holds the engine and the hot path that deliveries and workers take (record,
claim, settle, due), this module what operators, the CLI and the dashboard do, and ``_sqlprocs.py``
the process registry. Each part reads the same ``Tables``.
"""

from __future__ import annotations

import builtins
import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from hookinbox.events import FINISHED, EventRecord, Status
from hookinbox.stores import StoreStats
from hookinbox.stores._base import history_from_json
from hookinbox.stores._query import TIMELINE_STATUSES, Cursor, Timeline, empty_timeline
from hookinbox.stores._sqlschema import UNTIMED, Tables

__all__ = ["SQLQueries", "record_from_row"]

_FINISHED = [s.value for s in FINISHED]


class SQLQueries:
    """What the store does besides the hot path; the store sets these attributes."""

    engine: sa.Engine
    dialect: str
    tables: Tables
    t: sa.Table
    statement_timeout: float

    def _setup(self) -> None:
        raise NotImplementedError

    def _key(self, endpoint: str, event_id: str) -> tuple[sa.ColumnElement[bool], ...]:
        return (self.t.c.endpoint == endpoint, self.t.c.id == event_id)

    # -- inspection and operations ----------------------------------------------------------

    def get(self, endpoint: str, event_id: str) -> EventRecord | None:
        self._setup()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.t).where(*self._key(endpoint, event_id))).first()
        return None if row is None else record_from_row(row._mapping)

    def find(self, event_id: str) -> list[EventRecord]:
        self._setup()
        stmt = sa.select(self.t).where(self.t.c.id == event_id).order_by(self.t.c.endpoint)
        with self.engine.connect() as conn:
            return [record_from_row(r._mapping) for r in conn.execute(stmt)]

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
        self._setup()
        c = self.t.c
        stmt = sa.select(*[col for col in self.t.c if col.name not in ("body", "history")])
        stmt = stmt.where(*self._filters(endpoint, status, type, since, until, id_prefix))
        if before is not None:
            at, ep, event_id = before
            # received_at <= at first: a range on ix_received; the rest breaks ties in the ORDER BY's order
            stmt = stmt.where(
                c.received_at <= at,
                sa.or_(
                    c.received_at < at,
                    c.endpoint < ep,
                    sa.and_(c.endpoint == ep, c.id < event_id),
                ),
            )
        stmt = stmt.order_by(c.received_at.desc(), c.endpoint.desc(), c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [record_from_row(r._mapping) for r in conn.execute(stmt)]

    def _filters(
        self,
        endpoint: str | None,
        status: Status | None,
        type: str | None,
        since: float | None,
        until: float | None,
        id_prefix: str | None,
    ) -> builtins.list[sa.ColumnElement[bool]]:
        c = self.t.c
        out: builtins.list[sa.ColumnElement[bool]] = []
        if endpoint is not None:
            out.append(c.endpoint == endpoint)
        if status is not None:
            out.append(c.status == Status(status).value)
        if type is not None:
            out.append(c.type == type)
        if since is not None:
            out.append(c.received_at >= since)
        if until is not None:
            out.append(c.received_at < until)
        if id_prefix:
            out.append(c.id.startswith(id_prefix, autoescape=True))
        return out

    def replay(self, endpoint: str, event_id: str, now: float) -> bool:
        """A finished (done, dead, stale) or failed event back to ``pending``; a done one runs every
        handler again, the others keep ``handlers_done``."""
        self._setup()
        c = self.t.c
        with self.engine.begin() as conn:
            sel = sa.select(c.status, c.received_at).where(*self._key(endpoint, event_id)).with_for_update()
            row = conn.execute(sel).first()
            if row is None or row[0] in (Status.PENDING.value, Status.PROCESSING.value):
                return False
            values: dict[str, Any] = {
                "status": Status.PENDING.value,
                "attempts": 0,
                "next_attempt_at": None,
                "lease_until": None,
                "updated_at": now,
                "received_at": min(row[1], now),
            }
            if row[0] == Status.DONE.value:
                values["handlers_done"] = "[]"
            upd = self.t.update().where(*self._key(endpoint, event_id), c.status == row[0]).values(values)
            return conn.execute(upd).rowcount == 1

    def purge(self, before: float, statuses: Sequence[Status] = (Status.DONE, Status.DEAD)) -> int:
        """Delete finished events received before ``before``; with ``Status.DONE``, in the same transaction,
        also the per-resource state (``order_keys``) not updated since (returns the events deleted)."""
        self._setup()
        c = self.t.c
        values = [Status(s).value for s in statuses]
        stmt = self.t.delete().where(c.status.in_(values), c.received_at < before)
        with self._untimed() as conn:
            deleted = int(conn.execute(stmt).rowcount)
            if Status.DONE.value in values:
                keys = self.tables.order_keys
                conn.execute(keys.delete().where(keys.c.updated_at < before))
            return deleted

    def drop_bodies(self, before: float) -> int:
        self._setup()
        c = self.t.c
        stmt = (
            self.t.update()
            .where(c.status.in_(_FINISHED), c.received_at < before, c.body.is_not(None))
            .values(body=None)
        )
        return self._long(stmt)

    def _long(self, stmt: sa.Executable) -> int:
        with self._untimed() as conn:
            return int(conn.execute(stmt).rowcount)  # type: ignore[attr-defined, unused-ignore]

    @contextlib.contextmanager
    def _untimed(self) -> Iterator[sa.Connection]:
        """A transaction without the hot-path statement timeout: DDL and retention may take long.

        Nor the client-side read timeout (the watchdog and PyMySQL's, stores/_sqlschema.py), for its
        statements and its commit alike."""
        with self.engine.connect() as conn:
            info = conn.connection.info
            dbapi = conn.connection.dbapi_connection
            read_timeout = getattr(dbapi, "_read_timeout", None)  # PyMySQL's, checked before each read
            info[UNTIMED] = True
            if read_timeout is not None:
                dbapi._read_timeout = None  # type: ignore[union-attr]
            try:
                with conn.begin():
                    yield from self._untimed_transaction(conn)
            finally:
                info.pop(UNTIMED, None)
                if read_timeout is not None:
                    dbapi._read_timeout = read_timeout  # type: ignore[union-attr]

    def _untimed_transaction(self, conn: sa.Connection) -> Iterator[sa.Connection]:
        if self.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            conn.exec_driver_sql("SET LOCAL lock_timeout = '60s'")  # DDL never waits forever
        elif self.dialect in ("mysql", "mariadb"):
            conn.exec_driver_sql("SET SESSION max_statement_time = 0")
        try:
            yield conn
        finally:
            if self.dialect in ("mysql", "mariadb"):
                try:
                    conn.exec_driver_sql(f"SET SESSION max_statement_time = {self.statement_timeout:g}")
                except sa.exc.DBAPIError:
                    conn.invalidate()  # never hand a connection without its timeout back to the pool

    def stats(self) -> StoreStats:
        self._setup()
        c = self.t.c
        stmt = sa.select(c.endpoint, c.status, sa.func.count()).group_by(c.endpoint, c.status)
        out: StoreStats = {}
        with self.engine.connect() as conn:
            for ep, status, n in conn.execute(stmt):
                out.setdefault(ep, {})[status] = int(n)
        return out

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
        self._setup()
        where = self._filters(endpoint, status, type, since, until, id_prefix)
        stmt = sa.select(sa.func.count()).select_from(self.t).where(*where)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    def _bucket(self, col: sa.ColumnElement[float], since: float, bucket: float) -> sa.ColumnElement[Any]:
        offset = (col - since) / bucket  # >= 0 in the window, so truncating is flooring
        if self.dialect == "sqlite":  # SQLite has floor() only when built with its math functions
            return sa.cast(offset, sa.Integer)
        return sa.func.floor(offset)

    def timeline(self, since: float, until: float, *, bucket: float = 60.0, endpoint: str | None = None) -> Timeline:
        """Per ``bucket`` seconds of ``[since, until)``: events received, and of those the handled and failed.

        Two grouped reads over the events received in the window (a range of ``ix_received``).
        """
        self._setup()
        c = self.t.c
        out = empty_timeline(since, until, bucket)
        window = [c.received_at >= since, c.received_at < until]
        if endpoint is not None:
            window.append(c.endpoint == endpoint)
        b = self._bucket(c.received_at, since, bucket).label("b")
        received = sa.select(b, sa.func.count()).where(*window).group_by(b)
        u = self._bucket(c.updated_at, since, bucket).label("u")
        settled = (
            sa.select(c.status, u, sa.func.count())
            .where(*window, c.status.in_(list(TIMELINE_STATUSES)), c.updated_at >= since, c.updated_at < until)
            .group_by(c.status, u)
        )
        size = len(out["received"])
        with self.engine.connect() as conn:
            for n, count in conn.execute(received):
                if 0 <= int(n) < size:
                    out["received"][int(n)] += int(count)
            for status, n, count in conn.execute(settled):
                if 0 <= int(n) < size:
                    out[TIMELINE_STATUSES[status]][int(n)] += int(count)
        return out

    def oldest_pending(self) -> dict[str, float]:
        """``{endpoint: received_at}`` of the oldest ``pending`` event of each endpoint that has one."""
        self._setup()
        c = self.t.c
        stmt = (
            sa.select(c.endpoint, sa.func.min(c.received_at))
            .where(c.status == Status.PENDING.value)
            .group_by(c.endpoint)
        )
        with self.engine.connect() as conn:
            return {ep: float(t) for ep, t in conn.execute(stmt)}

    def discard_dead(self, endpoint: str, event_id: str) -> bool:
        """Delete a ``dead`` event (an operator giving up on it); False if it is not dead."""
        self._setup()
        stmt = self.t.delete().where(*self._key(endpoint, event_id), self.t.c.status == Status.DEAD.value)
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount) == 1


def record_from_row(m: Any) -> EventRecord:
    return EventRecord(
        endpoint=m["endpoint"],
        id=m["id"],
        type=m["type"],
        body=bytes(m["body"]) if m.get("body") is not None else None,
        headers=json.loads(m["headers"]),
        received_at=float(m["received_at"]),
        timestamp=m["timestamp"],
        status=Status(m["status"]),
        attempts=int(m["attempts"]),
        next_attempt_at=m["next_attempt_at"],
        lease_until=m["lease_until"],
        last_error=m["last_error"],
        handlers_done=list(json.loads(m["handlers_done"])),
        updated_at=float(m["updated_at"]),
        history=history_from_json(m.get("history")),
        owner=m.get("owner"),
        order_key=m.get("order_key"),
        order_seq=None if m.get("order_seq") is None else float(m["order_seq"]),
    )
