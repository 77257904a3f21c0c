"""The store on the Django database: threads and processes on SQLite, migrations and the contract on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from store_checks import exercise_processes, exercise_threads

from hookinbox.django.store import DjangoStore
from hookinbox.stores import Store, store_from_url

ROOT = Path(__file__).resolve().parents[3]


def test_record_and_claim_are_atomic_across_threads_on_sqlite() -> None:
    """Threads with a Django connection each: one record and one claim of a key win (the rest of the Store
    contract runs on DjangoStore in test_django_contract.py)."""
    exercise_threads(DjangoStore)


def test_processes_and_history_on_sqlite() -> None:
    """DjangoStore keeps owner and history, claims and settles in batches, and keeps the process registry:
    release_dead prunes a dead process once (two sweeper threads) and releases only its claims."""
    exercise_processes(DjangoStore)


def test_store_url_names_the_database_alias() -> None:
    """store = "django://" builds a DjangoStore on the default alias; "django://other" on that alias."""
    store = store_from_url("django://", dedup_ttl=60.0)
    assert isinstance(store, DjangoStore) and isinstance(store, Store)
    assert (store.alias, store.dedup_ttl) == ("default", 60.0)
    assert store_from_url("django://replica").alias == "replica"  # type: ignore[attr-defined]


def test_migrations_apply_on_postgresql(pg_url: str, namespace: str) -> None:
    """The migrations apply (0001 with a row in it, then 0002 and 0003) and unapply on PostgreSQL, and the
    store keeps the store and ordering contracts there."""
    import psycopg

    u = urlsplit(pg_url.replace("postgresql+psycopg", "postgresql"))
    admin_dsn = f"host={u.hostname} port={u.port or 5432} user={u.username} dbname={u.path.lstrip('/')}"
    if u.password:
        admin_dsn += f" password={u.password}"
    db = f"hookinbox_{namespace}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests"), str(ROOT)]),
            "HOOKINBOX_TEST_PG_DB": db,
            "HOOKINBOX_TEST_PG_USER": u.username or "postgres",
            "HOOKINBOX_TEST_PG_PASSWORD": u.password or "",
            "HOOKINBOX_TEST_PG_HOST": u.hostname or "127.0.0.1",
            "HOOKINBOX_TEST_PG_PORT": str(u.port or 5432),
        }
        script = Path(__file__).with_name("pg_migrate_check.py")
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=90)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "hookinbox_event_key" in done.stdout and "hookinbox_event_due" in done.stdout
        assert "hookinbox_event_order" in done.stdout  # 0003: the events of one resource by status
        assert "migrated row: failed 1 None [] None None" in done.stdout
        assert "contract: " in done.stdout and "test_record_once" in done.stdout and "test_dedup_window" in done.stdout
        assert "test_one_at_a_time_in_order" in done.stdout and "test_concurrent_claimers_never_overlap" in done.stdout
        assert done.stdout.strip().endswith("ok")
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
