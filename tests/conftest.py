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
