"""The SQL schema, version 2 (owner, history, the processes table): created fresh, printed as DDL, and
migrated in place from a version 1 database with its rows intact."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest

from hookinbox.errors import ConfigurationError
from hookinbox.events import Attempt, Status
from hookinbox.stores import store_from_url
from tests.conftest import require_module

require_module("sqlalchemy")

import sqlalchemy as sa  # noqa: E402

from hookinbox.stores._sqlschema import SCHEMA_VERSION, ddl, upgrade_ddl  # noqa: E402
from hookinbox.stores.sql import main  # noqa: E402

SQL = pytest.mark.parametrize("store_url", ["sqlite", "postgresql", "mariadb"], indirect=True)
T0 = 1_000_000.0


def v1_schema(engine: sa.Engine, prefix: str) -> None:
    """The schema of hookinbox's version 1, as its DDL created it (columns copied from that release)."""
    md = sa.MetaData()
    text = sa.Text().with_variant(sa.dialects.mysql.MEDIUMTEXT(), "mysql", "mariadb")
    body = sa.LargeBinary().with_variant(sa.dialects.mysql.LONGBLOB(), "mysql", "mariadb")
    events = sa.Table(
        f"{prefix}events", md,
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
        sa.Column("last_error", text, nullable=True),
        sa.Column("handlers_done", sa.Text(), nullable=False),
        sa.Column("headers", text, nullable=False),
        sa.Column("body", body, nullable=True),
        sa.Index(f"{prefix}ix_status", "status", "next_attempt_at"),
        sa.Index(f"{prefix}ix_received", "received_at"),
        sa.Index(f"{prefix}ix_id", "id"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )  # fmt: skip
    schema = sa.Table(
        f"{prefix}schema", md, sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        mysql_engine="InnoDB",
    )  # fmt: skip
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(schema.insert().values(version=1))
        row = dict(
            endpoint="shop", id="old-1", type="order.paid", status="failed", received_at=T0, updated_at=T0 + 1,
            attempts=1, next_attempt_at=T0 + 5, lease_until=None, timestamp="2024-01-01T00:00:00Z",
            last_error="boom", handlers_done='["h1"]', headers='{"h": "v"}', body=b'{"a": 1}',
        )  # fmt: skip
        conn.execute(events.insert().values(row))


def engine_of(store_url: tuple[str, dict[str, Any]]) -> tuple[sa.Engine, str]:
    url, options = store_url
    return sa.create_engine(url), str(options.get("table_prefix", "hookinbox_"))


@SQL
def test_v1_database_is_migrated_in_place(store_url: tuple[str, dict[str, Any]]) -> None:
    """Opening a version 1 database adds owner/history and the processes table and bumps the version;
    the old row is intact and claimable, with an owner and a history from then on."""
    engine, prefix = engine_of(store_url)
    v1_schema(engine, prefix)
    store = store_from_url(store_url[0], **store_url[1])
    try:
        old = store.get("shop", "old-1")
        assert old is not None
        assert (old.status, old.attempts, old.last_error, old.handlers_done, old.body, old.headers) == (
            Status.FAILED, 1, "boom", ["h1"], b'{"a": 1}', {"h": "v"},
        )  # fmt: skip
        assert (old.owner, old.history) == (None, [])
        claimed = store.claim("shop", "old-1", T0 + 5, 30, "p1")
        assert claimed is not None and (claimed.attempts, claimed.owner) == (2, "p1")
        store.complete("shop", "old-1", T0 + 6)
        done = store.get("shop", "old-1")
        assert done is not None and done.history == [Attempt(2, T0 + 5, T0 + 6, "done", None, "p1")]
        assert store.heartbeat("p1", T0) is False and store.processes() == []
        with engine.connect() as conn:
            assert conn.execute(sa.text(f"SELECT version FROM {prefix}schema")).scalars().all() == [SCHEMA_VERSION]
            columns = {c["name"] for c in sa.inspect(conn).get_columns(f"{prefix}events")}
            assert {"owner", "history"} <= columns
            assert sa.inspect(conn).has_table(f"{prefix}processes")
    finally:
        store.close()
    again = store_from_url(store_url[0], **store_url[1])  # a second open finds version 2: nothing to do
    try:
        assert again.get("shop", "old-1") is not None
    finally:
        again.close()
        engine.dispose()


@SQL
def test_v1_database_without_ddl_rights_is_refused(store_url: tuple[str, dict[str, Any]]) -> None:
    """With create_schema = false a version 1 database is refused, naming the command that prints the upgrade."""
    engine, prefix = engine_of(store_url)
    v1_schema(engine, prefix)
    store = store_from_url(store_url[0], **store_url[1], create_schema=False)
    try:
        with pytest.raises(ConfigurationError, match="--from-version 1"):
            store.get("shop", "old-1")
    finally:
        store.close()
        engine.dispose()


@SQL
def test_printed_upgrade_ddl_migrates(store_url: tuple[str, dict[str, Any]]) -> None:
    """The upgrade DDL an administrator runs by hand brings a version 1 database to the current version."""
    engine, prefix = engine_of(store_url)
    v1_schema(engine, prefix)
    with engine.begin() as conn:
        for statement in upgrade_ddl(engine.dialect, 1, prefix).split(";\n"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    engine.dispose()
    store = store_from_url(store_url[0], **store_url[1], create_schema=False)
    try:
        assert store.claim("shop", "old-1", T0 + 5, 30, "p1") is not None
    finally:
        store.close()


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite", "mysql", "mariadb"])
def test_ddl_has_the_v2_schema(dialect: str) -> None:
    """--print-ddl prints the events table with owner and history, the processes table and version 2;
    --from-version 1 prints the upgrade."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([dialect, "--print-ddl", "--table-prefix", "x_"]) == 0
    text = out.getvalue()
    assert text == ddl(dialect, "x_")
    assert "CREATE TABLE x_processes" in text and "last_heartbeat" in text and "owner VARCHAR(64)" in text
    assert text.rstrip().endswith("INSERT INTO x_schema (version) VALUES (2);")
    upgrade = io.StringIO()
    with contextlib.redirect_stdout(upgrade):
        assert main([dialect, "--print-ddl", "--from-version", "1", "--table-prefix", "x_"]) == 0
    lines = upgrade.getvalue()
    assert "ALTER TABLE x_events ADD COLUMN owner VARCHAR(64) NULL" in lines
    assert "CREATE TABLE x_processes" in lines and "SET version=2" in lines
    with pytest.raises(SystemExit):
        main([dialect, "--print-ddl", "--from-version", "2"])
