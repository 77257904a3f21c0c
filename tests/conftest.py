"""Shared fixtures: real services, unique namespaces, and the five seed providers.

Tests that need a server use one of the ``*_url`` fixtures. Without the
server they skip with the reason; under ``CI=true`` they fail instead, so a
CI machine with a service down can never go green by skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

SERVICES = {
    "postgresql": ("127.0.0.1", 5432, "HOOKINBOX_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mariadb": ("127.0.0.1", 3306, "HOOKINBOX_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
    "redis": ("127.0.0.1", 6379, "HOOKINBOX_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": ("127.0.0.1", 5672, "HOOKINBOX_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str) -> str:
    """The URL of a running service, or skip (fail under CI=true) with a clear reason."""
    host, port, env, default = SERVICES[name]
    url = os.environ.get(env, default)
    if not _reachable(host, port):
        reason = f"{name} is not reachable at {host}:{port} (set {env} or start it; see README 'Running the tests')"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return url


def require_module(name: str) -> None:
    """Skip (fail under CI=true) when an optional dependency is not installed."""
    try:
        __import__(name)
    except ImportError:
        if IN_CI and os.environ.get("HOOKINBOX_CORE_ONLY") != "1":
            pytest.fail(f"CI=true and {name} is not installed", pytrace=False)
        pytest.skip(f"{name} is not installed (pip install 'hookinbox[all]')")


def require_tool(name: str, *candidates: str) -> str:
    """The path of an executable (``name`` on PATH, else the first existing of ``candidates``), or skip
    (fail under CI=true) with a clear reason. Browser tests use it for Debian's ``chromium``."""
    import shutil

    found = shutil.which(name) or next((c for c in candidates if os.access(c, os.X_OK)), None)
    if found is None:
        reason = f"{name} is not installed (apt-get install -y {name}; see README 'Running the tests')"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return found


@pytest.fixture
def pg_url() -> str:
    require_module("sqlalchemy")
    require_module("psycopg")
    return require_service("postgresql")


@pytest.fixture
def mysql_url() -> str:
    require_module("sqlalchemy")
    require_module("pymysql")
    return require_service("mariadb")


@pytest.fixture
def redis_url() -> str:
    require_module("redis")
    return require_service("redis")


@pytest.fixture
def amqp_url() -> str:
    return require_service("rabbitmq")


@pytest.fixture
def namespace() -> Iterator[str]:
    """A name unique to this test, for tables, key prefixes and queues on shared servers."""
    yield "t" + uuid.uuid4().hex[:10]


# -- stores ---------------------------------------------------------------------------------

STORES = ["memory", "sqlite", "postgresql", "mariadb", "redis"]


def _drop_store(url: str, options: dict[str, object]) -> None:
    """Remove what a test's store created: its own prefixed tables or keys, nothing else."""
    if url.startswith("memory"):
        return
    from hookinbox.stores import store_from_url

    store = store_from_url(url, **options)
    try:
        store.drop()  # type: ignore[attr-defined]
    finally:
        store.close()


@pytest.fixture(params=STORES)
def store_url(
    request: pytest.FixtureRequest, namespace: str, tmp_path: object
) -> Iterator[tuple[str, dict[str, object]]]:
    """``(url, store_options)`` of a fresh, isolated store, once per backend in :data:`STORES`.

    Use it as ``Inbox.from_settings(settings_dict(store=url, store_options=opts))``
    or with :func:`make_store`. The store's tables/keys are dropped afterwards.
    """
    kind = request.param
    options: dict[str, object] = {}
    if kind == "memory":
        url = "memory://"
    elif kind == "sqlite":
        require_module("sqlalchemy")
        url = f"sqlite:///{tmp_path}/hookinbox.db"  # type: ignore[str-bytes-safe]
    elif kind == "postgresql":
        url = request.getfixturevalue("pg_url")
        options = {"table_prefix": f"{namespace}_"}
    elif kind == "mariadb":
        url = request.getfixturevalue("mysql_url")
        options = {"table_prefix": f"{namespace}_"}
    else:
        url = request.getfixturevalue("redis_url")
        options = {"prefix": f"{namespace}:"}
    yield url, options
    _drop_store(url, options)


@pytest.fixture
def make_store(store_url: tuple[str, dict[str, object]]) -> Iterator[object]:
    """``make_store(**overrides)`` builds the parametrized store; every one built is closed afterwards."""
    from hookinbox.stores import store_from_url

    url, options = store_url
    built: list[object] = []

    def make(**overrides: object) -> object:
        store = store_from_url(url, **{**options, **overrides})
        built.append(store)
        return store

    yield make
    for store in built:
        store.close()  # type: ignore[attr-defined]
