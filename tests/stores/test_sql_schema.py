"""The SQL schema, version 3 (v2: owner, history, the processes table; v3: order_key, order_seq, their
index, the order_keys table): created fresh, printed as DDL, and migrated in place from a version 1 or
version 2 database with its rows intact."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest

from hookinbox.errors import ConfigurationError
from hookinbox.events import Attempt, EventRecord, Status
from hookinbox.stores import store_from_url
from tests.conftest import require_module

require_module("sqlalchemy")

import sqlalchemy as sa  # noqa: E402

from hookinbox.stores._sqlschema import SCHEMA_VERSION, ddl, upgrade_ddl  # noqa: E402
from hookinbox.stores.sql import main  # noqa: E402

SQL = pytest.mark.parametrize("store_url", ["sqlite", "postgresql", "mariadb"], indirect=True)
T0 = 1_000_000.0


def old_schema(engine: sa.Engine, prefix: str, version: int = 1) -> None:
    """The schema of hookinbox's version 1 or 2, as its DDL created it (columns copied from those releases),
    with one failed event (and, at version 2, its owner-less history)."""
    md = sa.MetaData()
    text = sa.Text().with_variant(sa.dialects.mysql.MEDIUMTEXT(), "mysql", "mariadb")
    body = sa.LargeBinary().with_variant(sa.dialects.mysql.LONGBLOB(), "mysql", "mariadb")
    v2 = [sa.Column("owner", sa.String(64), nullable=True), sa.Column("history", text, nullable=True)]
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
        *(v2 if version >= 2 else []),
        sa.Index(f"{prefix}ix_status", "status", "next_attempt_at"),
        sa.Index(f"{prefix}ix_received", "received_at"),
        sa.Index(f"{prefix}ix_id", "id"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )  # fmt: skip
    if version >= 2:
        sa.Table(
            f"{prefix}processes", md,
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("host", sa.String(255), nullable=False),
            sa.Column("pid", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("started_at", sa.Double(), nullable=False),
            sa.Column("last_heartbeat", sa.Double(), nullable=False),
            mysql_engine="InnoDB", mysql_charset="utf8mb4",
        )  # fmt: skip
    schema = sa.Table(
        f"{prefix}schema", md, sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        mysql_engine="InnoDB",
    )  # fmt: skip
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(schema.insert().values(version=version))
        row = dict(
            endpoint="shop", id="old-1", type="order.paid", status="failed", received_at=T0, updated_at=T0 + 1,
            attempts=1, next_attempt_at=T0 + 5, lease_until=None, timestamp="2024-01-01T00:00:00Z",
            last_error="boom", handlers_done='["h1"]', headers='{"h": "v"}', body=b'{"a": 1}',
        )  # fmt: skip
        if version >= 2:
            row["history"] = '[{"number": 1, "started_at": 1000000.0, "finished_at": 1000001.0, "outcome": "retry"}]'
        conn.execute(events.insert().values(row))


def engine_of(store_url: tuple[str, dict[str, Any]]) -> tuple[sa.Engine, str]:
    url, options = store_url
    return sa.create_engine(url), str(options.get("table_prefix", "hookinbox_"))


OLD = pytest.mark.parametrize("version", [1, 2])


@SQL
@OLD
def test_old_database_is_migrated_in_place(store_url: tuple[str, dict[str, Any]], version: int) -> None:
    """Opening a version 1 or 2 database adds the columns, index and tables it lacks and bumps the version;
    the old row is intact (no resource: unordered) and claimable, with an owner and a history from then on,
    and ordered events work on the migrated schema."""
    engine, prefix = engine_of(store_url)
    old_schema(engine, prefix, version)
    store = store_from_url(store_url[0], **store_url[1])
    try:
        old = store.get("shop", "old-1")
        assert old is not None
        assert (old.status, old.attempts, old.last_error, old.handlers_done, old.body, old.headers) == (
            Status.FAILED, 1, "boom", ["h1"], b'{"a": 1}', {"h": "v"},
        )  # fmt: skip
        before = [Attempt(1, T0, T0 + 1, "retry")] if version == 2 else []
        assert (old.owner, old.history, old.order_key, old.order_seq) == (None, before, None, None)
        claimed = store.claim_ordered("shop", "old-1", T0 + 5, 30, "p1")  # unordered: a plain claim
        assert claimed is not None and (claimed.attempts, claimed.owner, claimed.stale) == (2, "p1", False)
        store.complete("shop", "old-1", T0 + 6)
        done = store.get("shop", "old-1")
        assert done is not None and done.history == [*before, Attempt(2, T0 + 5, T0 + 6, "done", None, "p1")]
        assert store.heartbeat("p1", T0) is False and store.processes() == []
        new = EventRecord("shop", "new-1", "order.paid", b"{}", {}, T0 + 7, order_key="o1", order_seq=7.0)
        assert store.record(new)
        got = store.claim_ordered("shop", "new-1", T0 + 8, 30, "p1")
        assert got is not None and (got.order_key, got.order_seq) == ("o1", 7.0)
        assert store.settle_ordered(("shop", "new-1", Status.DONE, T0 + 9, None, None), True) is None
        with engine.connect() as conn:
            assert conn.execute(sa.text(f"SELECT version FROM {prefix}schema")).scalars().all() == [SCHEMA_VERSION]
            inspector = sa.inspect(conn)
            columns = {c["name"] for c in inspector.get_columns(f"{prefix}events")}
            assert {"owner", "history", "order_key", "order_seq"} <= columns
            assert f"{prefix}ix_order" in {ix["name"] for ix in inspector.get_indexes(f"{prefix}events")}
            assert inspector.has_table(f"{prefix}processes")
            keys = conn.execute(sa.text(f"SELECT endpoint, last_seq, last_id FROM {prefix}order_keys")).all()
            assert [tuple(k) for k in keys] == [("shop", 7.0, "new-1")]
    finally:
        store.close()
    again = store_from_url(store_url[0], **store_url[1])  # a second open finds version 3: nothing to do
    try:
        assert again.get("shop", "old-1") is not None
    finally:
        again.close()
        engine.dispose()


@SQL
@OLD
def test_old_database_without_ddl_rights_is_refused(store_url: tuple[str, dict[str, Any]], version: int) -> None:
    """With create_schema = false an older database is refused, naming the command that prints the upgrade."""
    engine, prefix = engine_of(store_url)
    old_schema(engine, prefix, version)
    store = store_from_url(store_url[0], **store_url[1], create_schema=False)
    try:
        with pytest.raises(ConfigurationError, match=f"--from-version {version}"):
            store.get("shop", "old-1")
    finally:
        store.close()
        engine.dispose()


@SQL
@OLD
def test_printed_upgrade_ddl_migrates(store_url: tuple[str, dict[str, Any]], version: int) -> None:
    """The upgrade DDL an administrator runs by hand brings a version 1 or 2 database to the current version."""
    engine, prefix = engine_of(store_url)
    old_schema(engine, prefix, version)
    with engine.begin() as conn:
        for statement in upgrade_ddl(engine.dialect, version, prefix).split(";\n"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    engine.dispose()
    store = store_from_url(store_url[0], **store_url[1], create_schema=False)
    try:
        assert store.claim("shop", "old-1", T0 + 5, 30, "p1") is not None
        assert store.record(EventRecord("shop", "n", "t", b"{}", {}, T0, order_key="k", order_seq=1.0))
        got = store.claim_ordered("shop", "n", T0 + 6, 30, "p1")
        assert got is not None and got.order_key == "k"
    finally:
        store.close()


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite", "mysql", "mariadb"])
def test_ddl_has_the_v3_schema(dialect: str) -> None:
    """--print-ddl prints the events table with owner, history, order_key and order_seq, the processes and
    order_keys tables and version 3; --from-version 1 and 2 print the upgrades."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([dialect, "--print-ddl", "--table-prefix", "x_"]) == 0
    text = out.getvalue()
    assert text == ddl(dialect, "x_")
    assert "CREATE TABLE x_processes" in text and "last_heartbeat" in text and "owner VARCHAR(64)" in text
    assert (
        "CREATE TABLE x_order_keys" in text and "order_key VARCHAR(255)" in text and "CREATE INDEX x_ix_order" in text
    )
    assert text.rstrip().endswith("INSERT INTO x_schema (version) VALUES (3);")
    upgrades = {}
    for version in (1, 2):
        upgrade = io.StringIO()
        with contextlib.redirect_stdout(upgrade):
            assert main([dialect, "--print-ddl", "--from-version", str(version), "--table-prefix", "x_"]) == 0
        upgrades[version] = upgrade.getvalue()
    v1, v2 = upgrades[1], upgrades[2]
    assert "ALTER TABLE x_events ADD COLUMN owner VARCHAR(64) NULL" in v1
    assert "CREATE TABLE x_processes" in v1 and "SET version=3" in v1
    for lines in (v1, v2):
        assert "ALTER TABLE x_events ADD COLUMN order_key VARCHAR(255) NULL" in lines
        assert "CREATE INDEX x_ix_order ON x_events (endpoint, order_key, status)" in lines
        assert "CREATE TABLE x_order_keys" in lines and "SET version=3 WHERE x_schema.version = " in lines
    assert "owner" not in v2 and "x_processes" not in v2
    with pytest.raises(SystemExit):
        main([dialect, "--print-ddl", "--from-version", "3"])
