"""The SQL store: SQLite, PostgreSQL and MariaDB/MySQL through SQLAlchemy 2 Core.

::

    store = "sqlite:///hookinbox.db"                          # the default of `hookinbox serve`
    store = "postgresql+psycopg://user:pw@db/app"
    store = "mysql+pymysql://user:pw@db/app"

One row per accepted event, primary key ``(endpoint, id)``. Recording is one
atomic insert-if-absent: ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` on
PostgreSQL and SQLite; on MariaDB/MySQL a plain ``INSERT`` per row whose
duplicate-key error (1062) means "already there" (``INSERT IGNORE`` would also
silently truncate over-long values, and ``ON DUPLICATE KEY UPDATE`` row counts
are ambiguous with the ``FOUND_ROWS`` flag the driver sets). Concurrent
inserts of one key block on its index entry until the first commits, then
fail as duplicates, so exactly one wins across threads and processes.

Records, claims and settlements each go through a group-commit writer thread
(:mod:`hookinbox.stores._groupcommit`, :mod:`hookinbox.stores._claims`): one
transaction per batch, and the event loop never blocks. Claims are conditional
``UPDATE`` statements checked by row count, run in key order within a batch.
Endpoints ordered by resource claim and settle one event at a time under a
per-resource row lock instead (:mod:`hookinbox.stores._sqlorder`).
The schema is created on first use; :func:`ddl` (or
``python -m hookinbox.stores.sql URL --print-ddl``) prints it for databases
where the application may not run DDL.

Store options (``[hookinbox.store_options]``): ``table_prefix``
(``"hookinbox_"``), ``connect_timeout`` (2 s), ``statement_timeout`` (2 s),
``record_timeout`` (3 s: the longest a record, claim or settlement waits for its batch),
``read_timeout`` (statement_timeout + 3 s: a call the server has not answered by then is
abandoned and its connection dropped, see :func:`create_engine`), ``busy_timeout`` (SQLite, 5 s),
``sqlite_synchronous`` (``FULL``),
``pool_size``, ``max_overflow``, ``pool_timeout``, ``pool_recycle``,
``max_batch``, ``create_schema`` (true), ``engine_options`` (passed to
:func:`sqlalchemy.create_engine`).

Errors are logged by class name only: driver messages quote SQL parameters.
"""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql, sqlite
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("the SQL store needs SQLAlchemy: pip install 'hookinbox[sql]'") from exc

from hookinbox.errors import ConfigurationError
from hookinbox.events import FINISHED, EventRecord, Status
from hookinbox.stores import StoreHealth, writers_health
from hookinbox.stores._base import outcome_of
from hookinbox.stores._claims import BatchedProcessing, Claim, Settle
from hookinbox.stores._groupcommit import Batcher, FairLock
from hookinbox.stores._sqlorder import SQLOrdering
from hookinbox.stores._sqlprocs import SQLProcesses
from hookinbox.stores._sqlqueries import SQLQueries, record_from_row
from hookinbox.stores._sqlschema import SCHEMA_VERSION, Tables, create_engine, ddl, migrate, upgrade_ddl

__all__ = ["SQLStore", "ddl"]

T = TypeVar("T")

_FINISHED = [s.value for s in FINISHED]
_ENGINE_KEYS = (
    "connect_timeout", "statement_timeout", "read_timeout", "busy_timeout", "pool_size", "max_overflow",
    "pool_timeout", "pool_recycle", "sqlite_synchronous", "engine_options",
)  # fmt: skip


class SQLStore(SQLOrdering, BatchedProcessing, SQLProcesses, SQLQueries):
    durable = True
    blocking = True

    def __init__(
        self,
        engine: sa.Engine,
        *,
        table_prefix: str = "hookinbox_",
        dedup_ttl: float = 7 * 86400.0,
        clock: Callable[[], float] = time.time,
        record_timeout: float = 3.0,
        max_batch: int = 200,
        create_schema: bool = True,
        statement_timeout: float = 2.0,
    ) -> None:
        self.engine = engine
        self.statement_timeout = statement_timeout
        self.dialect = engine.dialect.name
        self.tables = Tables(table_prefix)
        self.t = self.tables.events
        self.dedup_ttl = dedup_ttl
        self.clock = clock
        self.create_schema = create_schema
        self._ready = False
        self._setup_lock = threading.Lock()
        # SQLite writes one transaction at a time: its writers take turns in arrival order
        turn = FairLock() if self.dialect == "sqlite" else None
        self._turn = turn  # taken by ordered claims and settlements too (stores/_sqlorder.py)
        self._recorder: Batcher[EventRecord, bool] = Batcher(
            self._write_batch, max_batch=max_batch, timeout=record_timeout, name="hookinbox-sql-record", turn=turn
        )
        # claims and settlements: batched the same way, one transaction per batch (stores/_claims.py)
        self._start_batchers(max_batch=max_batch, timeout=record_timeout, name="hookinbox-sql", turn=turn)
        self._processing_statements()
        # A forked child (gunicorn --preload, multiprocessing) must not share the parent's pooled
        # connections: it drops them, without closing the parent's (SQLAlchemy's documented recipe).
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_pool(ref))

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLStore:
        """Build from a SQLAlchemy URL and the store options (unknown options are refused)."""
        options.pop("max_events", None)  # a database is bounded by its disk, not by a count
        engine_kwargs = {k: options.pop(k) for k in _ENGINE_KEYS if k in options}
        store_keys = ("table_prefix", "dedup_ttl", "clock", "record_timeout", "max_batch", "create_schema")
        store_kwargs = {k: options.pop(k) for k in store_keys if k in options}
        if options:
            raise ConfigurationError(
                f"unknown SQL store option(s): {', '.join(sorted(options))}", key="hookinbox.store_options"
            )
        if "statement_timeout" in engine_kwargs:
            store_kwargs["statement_timeout"] = engine_kwargs["statement_timeout"]
        return cls(create_engine(url, **engine_kwargs), **store_kwargs)

    # -- schema -----------------------------------------------------------------------------

    def _setup(self) -> None:
        if self._ready:
            return
        with self._setup_lock:
            if self._ready:
                return
            for attempt in range(3):  # another process may be creating the same tables right now
                try:
                    self._create_or_check()
                    break
                except (sa.exc.ProgrammingError, sa.exc.IntegrityError, sa.exc.OperationalError):
                    if attempt == 2:
                        raise
                    time.sleep(0.2 * (attempt + 1))
            self._ready = True

    def _create_or_check(self) -> None:
        schema = self.tables.schema
        if self.create_schema:
            with self._untimed() as conn:
                self.tables.metadata.create_all(conn, checkfirst=True)
        with self.engine.begin() as conn:
            version = conn.execute(sa.select(sa.func.max(schema.c.version))).scalar()
            if version is None and self.create_schema:
                conn.execute(schema.insert().values(version=SCHEMA_VERSION))
                version = SCHEMA_VERSION
        if version is not None and version < SCHEMA_VERSION:
            if not self.create_schema:
                raise ConfigurationError(
                    f"table {schema.name} holds schema version {version}; this hookinbox uses {SCHEMA_VERSION}: "
                    f"run `python -m hookinbox.stores.sql URL --print-ddl --from-version {version}` "
                    "as an administrator, or allow create_schema",
                    key="hookinbox.store",
                )
            with self._untimed() as conn:  # in place: add the new columns and tables, bump the version
                migrate(conn, self.tables, version)
            version = SCHEMA_VERSION
        if version != SCHEMA_VERSION:
            raise ConfigurationError(
                f"table {schema.name} holds schema version {version}; this hookinbox uses {SCHEMA_VERSION}",
                key="hookinbox.store",
            )

    def drop(self) -> None:
        """Drop this store's tables (its ``table_prefix`` only). For tests and uninstalls."""
        with self._untimed() as conn:
            self.tables.metadata.drop_all(conn, checkfirst=True)
        self._ready = False

    # -- recording --------------------------------------------------------------------------

    def record(self, record: EventRecord) -> bool:
        self._setup()
        return self._recorder.run(record)

    async def arecord(self, record: EventRecord) -> bool:
        if not self._ready:  # first use only: creating the schema must not block the loop
            import asyncio

            await asyncio.to_thread(self._setup)
        return await self._recorder.arun(record)

    def _row(self, rec: EventRecord) -> dict[str, Any]:
        return {
            "endpoint": rec.endpoint,
            "id": rec.id,
            "type": rec.type,
            "status": Status.PENDING.value,
            "received_at": rec.received_at,
            "updated_at": rec.received_at,
            "attempts": 0,
            "next_attempt_at": None,
            "lease_until": None,
            "timestamp": rec.timestamp,
            "last_error": None,
            "handlers_done": "[]",
            "headers": json.dumps(rec.headers),
            "body": rec.body,
            "order_key": rec.order_key,
            "order_seq": rec.order_seq,
        }

    def _write_batch(self, records: Sequence[EventRecord]) -> list[bool]:
        """Insert a batch in one transaction; True for each record that was new."""
        first: dict[tuple[str, str], int] = {}
        for i, rec in enumerate(records):
            first.setdefault(rec.key, i)  # a key twice in one batch: the later ones are duplicates
        rows = {key: self._row(records[i]) for key, i in sorted(first.items())}  # sorted: one lock order
        inserted = self._transaction(lambda conn: self._insert(conn, list(rows.values())))
        for key in sorted(set(rows) - inserted):
            # its own short transaction: in the insert's one, MariaDB's duplicate-key share lock
            # plus this update's exclusive lock can deadlock with a worker settling the event
            with self.engine.begin() as conn:
                if self._revive(conn, rows[key]):
                    inserted.add(key)
        return [first[rec.key] == i and rec.key in inserted for i, rec in enumerate(records)]

    def _transaction(self, work: Callable[[sa.Connection], T]) -> T:
        """``work`` in one transaction, run again from the start (at most 3 times) if MariaDB picks it
        as a deadlock victim (1213) or times out on a lock (1205); every batch writes in key order."""
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except sa.exc.OperationalError as exc:
                if attempt == 2 or not _retryable(exc):
                    raise
        raise AssertionError("unreachable")

    def _insert(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
        t = self.t
        if self.dialect in ("postgresql", "sqlite"):
            ins = postgresql.insert(t) if self.dialect == "postgresql" else sqlite.insert(t)
            # executemany, not .values(rows): SQLAlchemy's "insertmanyvalues" batches the rows into
            # multi-row statements from ONE cached compilation; .values(rows) compiled a new statement
            # per batch, ~250 us of CPU per row on SQLite against ~30 us this way (benchmarks/keepup.py)
            stmt = ins.on_conflict_do_nothing().returning(t.c.endpoint, t.c.id)
            return {(r[0], r[1]) for r in conn.execute(stmt, rows)}
        out: set[tuple[str, str]] = set()
        for row in rows:  # MariaDB/MySQL: a duplicate-key error ends the statement, not the transaction
            try:
                conn.execute(t.insert(), row)
            except sa.exc.IntegrityError as exc:
                if _mysql_code(exc) != 1062:
                    raise
            else:
                out.add((row["endpoint"], row["id"]))
        return out

    def _revive(self, conn: sa.Connection, row: dict[str, Any]) -> bool:
        """Take over a finished event whose de-duplication window has passed (as if it were new)."""
        t = self.t
        stmt = (
            t.update()
            .where(
                t.c.endpoint == row["endpoint"],
                t.c.id == row["id"],
                t.c.status.in_(_FINISHED),
                t.c.updated_at < row["received_at"] - self.dedup_ttl,
            )
            .values({**{k: v for k, v in row.items() if k not in ("endpoint", "id")}, "owner": None, "history": None})
        )
        return conn.execute(stmt).rowcount == 1

    def discard(self, endpoint: str, event_id: str) -> None:
        self._setup()
        with self.engine.begin() as conn:
            conn.execute(self.t.delete().where(*self._key(endpoint, event_id)))

    # -- processing -------------------------------------------------------------------------

    def _processing_statements(self) -> None:
        """The claim and settle statements, built once with named parameters (executed per item)."""
        c = self.t.c
        now: sa.BindParameter[Any] = sa.bindparam("k_now")
        key = (c.endpoint == sa.bindparam("k_endpoint"), c.id == sa.bindparam("k_id"))
        claimable = sa.or_(
            c.status == Status.PENDING.value,
            sa.and_(c.status == Status.FAILED.value, sa.or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)),
            sa.and_(c.status == Status.PROCESSING.value, c.lease_until <= now),
        )
        self._claim_stmt = (
            self.t.update()
            .where(*key, claimable)
            .values(
                status=Status.PROCESSING.value,
                lease_until=sa.bindparam("k_lease_until"),
                attempts=c.attempts + 1,
                updated_at=now,
                owner=sa.bindparam("k_owner"),
            )
        )
        self._settle_stmt = (
            self.t.update()
            .where(*key, c.status == Status.PROCESSING.value)
            .values(
                status=sa.bindparam("k_status"),
                lease_until=None,
                next_attempt_at=sa.bindparam("k_retry"),
                last_error=sa.bindparam("k_error"),
                updated_at=now,
                owner=None,
                history=sa.bindparam("k_history"),
            )
        )

    def _claim_many(self, items: Sequence[Claim]) -> list[EventRecord | None]:
        """One transaction for the batch. PostgreSQL and SQLite: one ``UPDATE ... RETURNING`` per
        (now, lease, owner) group (a worker's batch is one group), so a batch costs one statement, not
        one per event. MariaDB (no ``UPDATE ... RETURNING``): one conditional UPDATE per row in key
        order (one lock order for every batch), then one SELECT of the rows it won."""
        self._setup()
        if self.dialect in ("postgresql", "sqlite"):
            return self._claim_returning(items)
        order = sorted(range(len(items)), key=lambda n: items[n][:2])
        params = [
            {"k_endpoint": ep, "k_id": i, "k_now": now, "k_lease_until": now + lease, "k_owner": owner}
            for ep, i, now, lease, owner in (items[n] for n in order)
        ]
        c = self.t.c

        def work(conn: sa.Connection) -> tuple[list[int], dict[Any, EventRecord]]:
            won = [n for n, p in zip(order, params, strict=True) if conn.execute(self._claim_stmt, p).rowcount]
            if not won:
                return won, {}
            keys = [items[n][:2] for n in won]
            rows = conn.execute(sa.select(self.t).where(sa.tuple_(c.endpoint, c.id).in_(keys)))
            return won, {(r.endpoint, r.id): record_from_row(r._mapping) for r in rows}

        won, claimed = self._transaction(work)
        out: list[EventRecord | None] = [None] * len(items)
        for n in won:  # a key twice in one batch: the first claims it, the later ones find it processing
            out[n] = claimed[items[n][:2]]
        return out

    def _claim_returning(self, items: Sequence[Claim]) -> list[EventRecord | None]:
        groups: dict[tuple[float, float, str | None], list[int]] = {}
        for n, (_, _, now, lease, owner) in enumerate(items):
            groups.setdefault((now, lease, owner), []).append(n)
        c = self.t.c

        def work(conn: sa.Connection) -> dict[tuple[str, str], tuple[int, EventRecord]]:
            won: dict[tuple[str, str], tuple[int, EventRecord]] = {}
            for g, ((now, lease, owner), members) in enumerate(groups.items()):
                keys = sorted({items[n][:2] for n in members})
                claimable = sa.or_(
                    c.status == Status.PENDING.value,
                    sa.and_(
                        c.status == Status.FAILED.value, sa.or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)
                    ),
                    sa.and_(c.status == Status.PROCESSING.value, c.lease_until <= now),
                )
                stmt = (
                    self.t.update()
                    .where(sa.tuple_(c.endpoint, c.id).in_(keys), claimable)
                    .values(
                        status=Status.PROCESSING.value,
                        lease_until=now + lease,
                        attempts=c.attempts + 1,
                        updated_at=now,
                        owner=owner,
                    )
                    .returning(*self.t.c)
                )
                for r in conn.execute(stmt):
                    won.setdefault((r.endpoint, r.id), (g, record_from_row(r._mapping)))
            return won

        won = self._transaction(work)
        out: list[EventRecord | None] = [None] * len(items)
        group_of = {n: g for g, members in enumerate(groups.values()) for n in members}
        for n, item in enumerate(items):  # a key twice: the first of the group that won it claims it
            hit = won.get(item[:2])
            if hit is not None and hit[0] == group_of[n]:
                out[n] = hit[1]
                del won[item[:2]]
        return out

    def due(self, now: float, recover_after: float, limit: int) -> list[tuple[str, str]]:
        self._setup()
        c = self.t.c
        cond = sa.or_(
            sa.and_(c.status == Status.PENDING.value, c.received_at <= now - recover_after),
            sa.and_(c.status == Status.FAILED.value, sa.or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)),
            sa.and_(c.status == Status.PROCESSING.value, c.lease_until <= now),
        )
        # an ordered event that claim_ordered would refuse is left out: else a page of a backlog fills
        # with events that wait for their resource, and the sweeper claims nothing, page after page
        cond = sa.and_(cond, self._due_in_order(now))
        stmt = sa.select(c.endpoint, c.id).where(cond).order_by(c.received_at).limit(limit)
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(stmt)]

    def handler_done(self, endpoint: str, event_id: str, handler: str) -> None:
        self._setup()
        c = self.t.c
        with self.engine.begin() as conn:
            stmt = sa.select(c.handlers_done).where(*self._key(endpoint, event_id)).with_for_update()
            current = conn.execute(stmt).scalar()
            if current is None:
                return
            done = json.loads(current)
            if handler not in done:
                done.append(handler)
                conn.execute(
                    self.t.update().where(*self._key(endpoint, event_id)).values(handlers_done=json.dumps(done))
                )

    def _settle_many(self, items: Sequence[Settle]) -> list[bool]:
        """One transaction for the batch, in key order; True for each event that was processing.

        The batch's processing rows are read (and locked) first with one SELECT, for the attempt
        each settlement appends to the row's history (number, claim time, owner)."""
        self._setup()
        order = sorted(range(len(items)), key=lambda n: items[n][:2])
        settle = self._settle_stmt

        def work(conn: sa.Connection) -> set[int]:
            rows = self._processing_rows(conn, [items[n][:2] for n in order])  # read and locked
            settled: set[int] = set()
            params: list[dict[str, Any]] = []
            for n in order:
                ep, i, st, now, retry, err = items[n]
                row = rows.pop((ep, i), None)  # a key twice in one batch: the first settles it
                if row is None:
                    continue
                history = self._appended(row, now, outcome_of(st), err, row.owner)
                params.append({"k_endpoint": ep, "k_id": i, "k_status": st.value, "k_now": now, "k_retry": retry,
                               "k_error": err, "k_history": history})  # fmt: skip
                settled.add(n)
            if len(params) == 1:
                settled = settled if conn.execute(settle, params[0]).rowcount else set()
            elif params:  # the rows are locked and processing: every update applies; one executemany
                conn.execute(settle, params)
            return settled

        settled = self._transaction(work)
        return [n in settled for n in range(len(items))]

    def health(self) -> StoreHealth:
        """Unhealthy while writes fail or hang (see :class:`~hookinbox.stores.StoreHealth`), or when
        ``SELECT 1`` fails (within the read timeout: a dead connection is abandoned, not waited on)."""
        failing = writers_health(self._recorder, self._claimer, self._settler)
        if failing is not None:
            return failing
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:  # never the message: it may carry the URL or parameters
            return StoreHealth(False, f"probe failed: {type(exc).__name__}")
        return StoreHealth(True)

    def close(self) -> None:
        self._recorder.close()
        self._close_batchers()
        self.engine.dispose()


def _retryable(exc: sa.exc.DBAPIError) -> bool:
    """A deadlock victim or a lock wait timeout: MariaDB 1213/1205, PostgreSQL 40P01/55P03."""
    return _mysql_code(exc) in (1213, 1205) or getattr(exc.orig, "sqlstate", None) in ("40P01", "55P03")


def _mysql_code(exc: sa.exc.DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hookinbox.stores.sql URL [--print-ddl | --create] [--table-prefix P]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m hookinbox.stores.sql", description=main.__doc__)
    parser.add_argument(
        "url", help="store URL, or a dialect name (postgresql, mysql, mariadb, sqlite) with --print-ddl"
    )
    parser.add_argument("--table-prefix", default="hookinbox_")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--print-ddl", action="store_true", help="print the SQL that creates the schema (default)")
    action.add_argument("--create", action="store_true", help="create the schema now (needs DDL rights)")
    parser.add_argument(
        "--from-version", type=int, metavar="N", help="with --print-ddl: print the upgrade of a schema at version N"
    )
    args = parser.parse_args(argv)
    if args.create:
        store = SQLStore.from_url(args.url, table_prefix=args.table_prefix)
        try:
            store._setup()
        finally:
            store.close()
        prefix = args.table_prefix
        tables = ", ".join(f"{prefix}{name}" for name in ("events", "processes", "order_keys", "schema"))
        print(f"schema version {SCHEMA_VERSION} ready ({tables})")
        return 0
    if args.from_version is not None:
        if not 1 <= args.from_version < SCHEMA_VERSION:
            parser.error(f"--from-version must be between 1 and {SCHEMA_VERSION - 1}")
        print(upgrade_ddl(args.url, args.from_version, args.table_prefix), end="")
        return 0
    print(ddl(args.url, args.table_prefix), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _forget_pool(ref: weakref.ref[SQLStore]) -> None:
    store = ref()
    if store is not None:
        store.engine.dispose(close=False)
