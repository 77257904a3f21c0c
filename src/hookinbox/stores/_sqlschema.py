"""The SQL store's schema (SQLAlchemy Core), its version, its DDL, and engine set-up per dialect."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.schema import CreateIndex, CreateTable

__all__ = ["SCHEMA_VERSION", "Tables", "create_engine", "ddl"]

#: Bumped with every change of the tables below; a database with a newer version is refused.
SCHEMA_VERSION = 1

# MariaDB/MySQL: BLOB is 64 KiB, too small for max_body; LONGBLOB holds up to 4 GiB.
_Body = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
_Text = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class Tables:
    """The two tables, named ``<table_prefix>events`` and ``<table_prefix>schema``."""

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
            sa.Index(f"{prefix}ix_status", "status", "next_attempt_at"),
            sa.Index(f"{prefix}ix_received", "received_at"),
            sa.Index(f"{prefix}ix_id", "id"),
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
    if isinstance(dialect, str):
        name = sa.engine.make_url(dialect).get_backend_name() if "://" in dialect else dialect
        dialect = sa.engine.URL.create(name).get_dialect()()
    tables = Tables(table_prefix)
    out: list[str] = []
    for table in (tables.events, tables.schema):
        out.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        out.extend(str(CreateIndex(ix).compile(dialect=dialect)).strip() for ix in sorted(table.indexes, key=_name))
    insert = tables.schema.insert().values(version=SCHEMA_VERSION)
    out.append(str(insert.compile(dialect=dialect, compile_kwargs={"literal_binds": True})))
    return ";\n\n".join(out) + ";\n"


def _name(ix: sa.Index) -> str:
    return str(ix.name)


def create_engine(
    url: str,
    *,
    connect_timeout: float = 2.0,
    statement_timeout: float = 2.0,
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
    """
    sa_url = sa.engine.make_url(url)
    backend = sa_url.get_backend_name()
    kwargs: dict[str, Any] = {}
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        connect_args = {"timeout": busy_timeout, "check_same_thread": False}
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
                "options": f"-c statement_timeout={int(statement_timeout * 1000)}",
            }
        elif backend in ("mysql", "mariadb"):
            connect_args = {
                "connect_timeout": connect_timeout,
                "init_command": f"SET SESSION max_statement_time={statement_timeout:g}",
            }
    kwargs.update(engine_options or {})
    if connect_args:
        kwargs["connect_args"] = {**connect_args, **kwargs.get("connect_args", {})}
    engine = sa.create_engine(sa_url, **kwargs)
    if backend == "sqlite":
        _sqlite_events(engine, sqlite_synchronous)
    return engine


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
