"""The SQL store's schema (SQLAlchemy Core), its version, its DDL, and engine set-up per dialect."""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.schema import CreateIndex, CreateTable

__all__ = ["SCHEMA_VERSION", "UNTIMED", "Tables", "create_engine", "ddl", "migrate", "upgrade_ddl"]

log = logging.getLogger("hookinbox.store")

#: Key in a DBAPI connection's ``info``: set while DDL or retention runs without timeouts.
UNTIMED = "hookinbox_untimed"

#: Bumped with every change of the tables below; a database with a newer version is refused, an
#: older one is upgraded in place (:func:`migrate`). 2: events.owner, events.history, the processes table.
#: 3: events.order_key, events.order_seq and their index, the order_keys table (ordering by resource).
SCHEMA_VERSION = 3

#: What each version added (the upgrade from the version before): columns and indexes of the events
#: table, and whole tables (attribute names of :class:`Tables`).
_ADDED_COLUMNS = {2: ("owner", "history"), 3: ("order_key", "order_seq")}
_ADDED_INDEXES = {3: ("ix_order",)}
_ADDED_TABLES = {2: ("processes",), 3: ("order_keys",)}

# MariaDB/MySQL: BLOB is 64 KiB, too small for max_body; LONGBLOB holds up to 4 GiB.
_Body = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
_Text = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class Tables:
    """The tables, named ``<table_prefix>events``, ``<table_prefix>processes``, ``<table_prefix>order_keys``
    and ``<table_prefix>schema``."""

    def __init__(self, prefix: str = "hookinbox_") -> None:
        self.prefix = prefix
        self.metadata = sa.MetaData()
        self.events = sa.Table(
            f"{prefix}events",
            self.metadata,
            sa.Column("endpoint", sa.String(100), primary_key=True),
            sa.Column("id", sa.String(255), primary_key=True),
            sa.Column("type", sa.String(255), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("received_at", sa.Double(), nullable=False),
            sa.Column("updated_at", sa.Double(), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False, default=0),
            sa.Column("next_attempt_at", sa.Double(), nullable=True),
            sa.Column("lease_until", sa.Double(), nullable=True),
            sa.Column("timestamp", sa.String(64), nullable=True),
            sa.Column("last_error", _Text, nullable=True),
            sa.Column("handlers_done", sa.Text(), nullable=False),
            sa.Column("headers", _Text, nullable=False),
            sa.Column("body", _Body, nullable=True),
            sa.Column("owner", sa.String(64), nullable=True),  # the claiming process while processing (v2)
            sa.Column("history", _Text, nullable=True),  # JSON list of attempts, oldest first (v2)
            # ordering by resource (v3): the endpoint's order_by value and the event's place among its events
            sa.Column("order_key", sa.String(255), nullable=True),
            sa.Column("order_seq", sa.Double(), nullable=True),
            sa.Index(f"{prefix}ix_status", "status", "next_attempt_at"),
            sa.Index(f"{prefix}ix_received", "received_at"),
            sa.Index(f"{prefix}ix_id", "id"),
            # the sibling lookups of ordered claims and of due(): the live claim or an earlier pending
            # event of one resource (unordered events all share the NULL key: never looked up through it)
            sa.Index(f"{prefix}ix_order", "endpoint", "order_key", "status"),
            mysql_engine="InnoDB",
            mysql_charset="utf8mb4",
        )
        self.processes = sa.Table(
            f"{prefix}processes",
            self.metadata,
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("host", sa.String(255), nullable=False),
            sa.Column("pid", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("started_at", sa.Double(), nullable=False),
            sa.Column("last_heartbeat", sa.Double(), nullable=False),
            mysql_engine="InnoDB",
            mysql_charset="utf8mb4",
        )
        # Per resource of an ordered endpoint (v3): the highest order_seq handled (what makes an older
        # event stale), and the row that claim_ordered/settle_ordered lock to serialize the resource.
        self.order_keys = sa.Table(
            f"{prefix}order_keys",
            self.metadata,
            sa.Column("endpoint", sa.String(100), primary_key=True),
            sa.Column("key", sa.String(255), primary_key=True),
            sa.Column("last_seq", sa.Double(), nullable=True),
            sa.Column("last_id", sa.String(255), nullable=True),
            sa.Column("updated_at", sa.Double(), nullable=False),
            mysql_engine="InnoDB",
            mysql_charset="utf8mb4",
        )
        self.schema = sa.Table(
            f"{prefix}schema",
            self.metadata,
            sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
            mysql_engine="InnoDB",
        )


def ddl(dialect: str | Dialect, table_prefix: str = "hookinbox_") -> str:
    """The SQL that creates the schema, for databases where the application may not run DDL.

    ``dialect`` is a dialect name (``postgresql``, ``sqlite``, ``mysql``,
    ``mariadb``) or a store URL. Run the output once as an administrator;
    the store then finds the tables and the version row and creates nothing.
    """
    dialect = _dialect(dialect)
    tables = Tables(table_prefix)
    out: list[str] = []
    for table in (tables.events, tables.processes, tables.order_keys, tables.schema):
        out.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        out.extend(str(CreateIndex(ix).compile(dialect=dialect)).strip() for ix in sorted(table.indexes, key=_name))
    insert = tables.schema.insert().values(version=SCHEMA_VERSION)
    out.append(str(insert.compile(dialect=dialect, compile_kwargs={"literal_binds": True})))
    return ";\n\n".join(out) + ";\n"


def upgrade_ddl(dialect: str | Dialect, from_version: int, table_prefix: str = "hookinbox_") -> str:
    """The SQL that upgrades a schema at ``from_version`` to :data:`SCHEMA_VERSION` (what :func:`migrate` runs)."""
    dialect = _dialect(dialect)
    return ";\n\n".join(_upgrade_statements(Tables(table_prefix), dialect, from_version)) + ";\n"


def _upgrade_statements(
    tables: Tables, dialect: Dialect, from_version: int, have: tuple[set[str], set[str]] | None = None
) -> list[str]:
    """ALTER/CREATE statements from ``from_version`` up. ``have``: the events table's columns and index
    names as found (:func:`migrate`), which are skipped, and then no table nor version row (``migrate``
    creates missing tables with ``create_all`` and moves the version itself); None prints everything."""
    out: list[str] = []
    quote = dialect.identifier_preparer.quote
    columns, indexes = have if have is not None else (set(), set())
    by_name = {str(ix.name): ix for ix in tables.events.indexes}
    for version in range(from_version + 1, SCHEMA_VERSION + 1):
        for name in _ADDED_COLUMNS.get(version, ()):
            if name in columns:
                continue
            col = tables.events.c[name]
            kind = col.type.compile(dialect=dialect)
            out.append(f"ALTER TABLE {quote(tables.events.name)} ADD COLUMN {quote(name)} {kind} NULL")
        for suffix in _ADDED_INDEXES.get(version, ()):
            name = f"{tables.prefix}{suffix}"
            if name not in indexes:
                out.append(str(CreateIndex(by_name[name]).compile(dialect=dialect)).strip())
        if have is None:
            for attr in _ADDED_TABLES.get(version, ()):
                out.append(str(CreateTable(getattr(tables, attr)).compile(dialect=dialect)).strip())
    if have is None:
        schema = tables.schema
        bump = schema.update().where(schema.c.version == from_version).values(version=SCHEMA_VERSION)
        out.append(str(bump.compile(dialect=dialect, compile_kwargs={"literal_binds": True})))
    return out


def migrate(conn: sa.Connection, tables: Tables, from_version: int) -> None:
    """Upgrade a schema at ``from_version`` in place: add the events columns that are missing, create the
    tables that are missing, then move the version row. Safe to run again after a partial run, and
    against another process migrating at the same time (the second finds the columns there)."""
    inspector = sa.inspect(conn)
    columns = {col["name"] for col in inspector.get_columns(tables.events.name)}
    indexes = {str(ix["name"]) for ix in inspector.get_indexes(tables.events.name)}
    have = (columns, indexes)
    for statement in _upgrade_statements(tables, conn.dialect, from_version, have):
        conn.exec_driver_sql(statement)
    tables.metadata.create_all(conn, checkfirst=True)
    schema = tables.schema
    conn.execute(schema.update().where(schema.c.version == from_version).values(version=SCHEMA_VERSION))


def _dialect(dialect: str | Dialect) -> Dialect:
    if isinstance(dialect, str):
        name = sa.engine.make_url(dialect).get_backend_name() if "://" in dialect else dialect
        return sa.engine.URL.create(name).get_dialect()()
    return dialect


def _name(ix: sa.Index) -> str:
    return str(ix.name)


def create_engine(
    url: str,
    *,
    connect_timeout: float = 2.0,
    statement_timeout: float = 2.0,
    read_timeout: float | None = None,
    busy_timeout: float = 5.0,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout: float = 3.0,
    pool_recycle: float = 1800.0,
    sqlite_synchronous: str = "FULL",
    engine_options: dict[str, Any] | None = None,
) -> Engine:
    """An engine that fails fast when the database is away and reconnects when it is back.

    PostgreSQL: READ COMMITTED, ``connect_timeout`` and a server-side
    ``statement_timeout``. MariaDB/MySQL: READ COMMITTED (fewer gap locks on
    concurrent inserts), ``connect_timeout`` and ``max_statement_time``.
    SQLite: WAL journal (readers never wait for the writer, several processes
    may share the file), ``busy_timeout`` and ``BEGIN IMMEDIATE`` transactions
    (a writer waits for the lock instead of failing on upgrade).

    A connection that dies silently (the peer gone without FIN or RST: a NAT
    or firewall drop, a failover) must not hold a writer forever. PostgreSQL
    and MariaDB connections get TCP keepalives (idle 5 s, then every 2 s, dead
    after 3 unanswered) and, for PostgreSQL, ``tcp_user_timeout`` (10 s); and
    every statement and commit the server has not answered within
    ``read_timeout`` (default ``statement_timeout + 3`` s: the server's own
    timeout answers first when it is alive) is abandoned: its socket is shut
    down, the driver raises, SQLAlchemy invalidates the connection and the
    pool, and the next call connects afresh. MariaDB also gets PyMySQL's
    ``read_timeout``/``write_timeout``. Schema creation and retention (which
    run without the statement timeout) are exempt.
    """
    sa_url = sa.engine.make_url(url)
    backend = sa_url.get_backend_name()
    kwargs: dict[str, Any] = {}
    connect_args: dict[str, Any] = {}
    read_timeout = statement_timeout + 3.0 if read_timeout is None else read_timeout
    if backend == "sqlite":
        connect_args = {"timeout": busy_timeout, "check_same_thread": False}
        # SQLite has one writer, and every transaction here begins IMMEDIATE: threads of one process
        # (the record, claim and settle writers, the sweeper, heartbeats) take turns on ONE pooled
        # connection, a fast handoff, instead of colliding on the file lock, where SQLite's busy handler
        # sleeps (up to 100 ms a try) and throughput fell to a few hundred events a second. Other
        # processes on the same file still wait through busy_timeout.
        kwargs = {"poolclass": sa.pool.QueuePool, "pool_size": 1, "max_overflow": 0, "pool_timeout": busy_timeout}
    else:
        kwargs = {
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_timeout": pool_timeout,
            "pool_recycle": pool_recycle,
            "isolation_level": "READ COMMITTED",
        }
        if backend == "postgresql":
            connect_args = {
                "connect_timeout": max(1, round(connect_timeout)),
                # idle_in_transaction_session_timeout: a client cut off mid-transaction (a network
                # partition) must not hold row locks until TCP keepalive notices; ours are short.
                "options": f"-c statement_timeout={int(statement_timeout * 1000)}"
                " -c idle_in_transaction_session_timeout=60000",
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
                "tcp_user_timeout": 10_000,  # ms: unacknowledged data for this long kills the connection
            }
        elif backend in ("mysql", "mariadb"):
            connect_args = {
                "connect_timeout": connect_timeout,
                # whole seconds: mysqlclient takes ints only (PyMySQL either)
                "read_timeout": max(1, math.ceil(read_timeout)),
                "write_timeout": max(1, math.ceil(read_timeout)),
                # lock_wait_timeout bounds metadata locks (DDL), which max_statement_time does not
                "init_command": f"SET SESSION max_statement_time={statement_timeout:g}, lock_wait_timeout=60",
            }
    kwargs.update(engine_options or {})
    if connect_args:
        kwargs["connect_args"] = {**connect_args, **kwargs.get("connect_args", {})}
    engine = sa.create_engine(sa_url, **kwargs)
    if backend == "sqlite":
        _sqlite_events(engine, sqlite_synchronous)
    else:
        if backend in ("mysql", "mariadb"):
            _mysql_keepalive(engine)
        _guard(engine, read_timeout)
    return engine


def _mysql_keepalive(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        sock = getattr(dbapi_conn, "_sock", None)
        if sock is not None:
            _keepalive(sock)


def _keepalive(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):  # Linux; macOS has TCP_KEEPALIVE instead of TCP_KEEPIDLE
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


def _guard(engine: Engine, read_timeout: float) -> None:
    """Arm the watchdog around every statement and commit of ``engine`` (see :func:`create_engine`)."""

    def arm(conn: sa.Connection) -> None:
        dbapi = conn.connection.dbapi_connection
        if dbapi is not None and not conn.connection.info.get(UNTIMED):
            WATCHDOG.arm(dbapi, read_timeout)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(conn: sa.Connection, *_: Any) -> None:
        arm(conn)

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _after(conn: sa.Connection, *_: Any) -> None:
        WATCHDOG.disarm()

    @sa.event.listens_for(engine, "handle_error")
    def _error(_ctx: Any) -> None:
        WATCHDOG.disarm()

    @sa.event.listens_for(engine, "commit")
    def _commit(conn: sa.Connection) -> None:
        arm(conn)

    @sa.event.listens_for(engine, "checkin")
    def _checkin(*_: Any) -> None:
        WATCHDOG.disarm()


class Watchdog:
    """Abandons database calls that got no answer in time, by shutting their connection's socket down.

    A statement blocked on a silently dead connection waits in the driver's
    ``recv`` forever: no timeout of the driver (psycopg has none) or of the
    server (it never got the statement) ends it. The thread that runs it arms
    the watchdog (keyed by thread, one call at a time) and disarms it when the
    call returns; one daemon thread shuts down the socket of any call past its
    deadline, so the driver raises a disconnect and SQLAlchemy drops the
    connection. Arm, disarm and the shutdown take one lock, so a socket is
    never shut down after its call returned.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, Any]] = {}
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.abandoned = 0  # how many calls were cut off (for tests and curiosity)

    def arm(self, dbapi_conn: Any, timeout: float) -> None:
        with self._cond:
            was_empty = not self._armed
            self._armed[threading.get_ident()] = (time.monotonic() + timeout, dbapi_conn)
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="hookinbox-sql-watchdog", daemon=True)
                self._thread.start()
            elif was_empty:
                self._cond.notify()

    def disarm(self) -> None:
        if self._armed:  # unlocked peek: the common case, nothing armed for anyone
            with self._cond:
                self._armed.pop(threading.get_ident(), None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._armed:
                    self._cond.wait()
                now = time.monotonic()
                for ident, (deadline, dbapi_conn) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[ident]
                        self.abandoned += 1
                        log.warning("a database call got no answer in time; its connection is dropped")
                        _shut_down(dbapi_conn)
            time.sleep(0.2)

    def _after_fork_in_child(self) -> None:
        self._cond = threading.Condition()
        self._armed = {}
        self._thread = None


def _shut_down(dbapi_conn: Any) -> None:
    """Shut the connection's socket down (both ways): its blocked read returns, its driver raises."""
    try:
        fileno = dbapi_conn.fileno() if hasattr(dbapi_conn, "fileno") else dbapi_conn._sock.fileno()
        with socket.socket(fileno=os.dup(fileno)) as dup:
            dup.shutdown(socket.SHUT_RDWR)
    except Exception:  # closed meanwhile, or a driver without a socket: nothing to abandon
        log.debug("could not shut a connection's socket down", exc_info=True)


WATCHDOG = Watchdog()


if hasattr(os, "register_at_fork"):  # a forked child has no watchdog thread and none of the parent's calls
    os.register_at_fork(after_in_child=WATCHDOG._after_fork_in_child)


def _sqlite_events(engine: Engine, synchronous: str) -> None:
    mode = synchronous.upper()
    if mode not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"sqlite_synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={mode}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
