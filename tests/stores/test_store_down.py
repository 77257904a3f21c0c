"""The store goes away mid-traffic: 503 with Retry-After and nothing acked; normal service once it is back."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest

from hookinbox.asgi import WebhookMiddleware as ASGIMiddleware
from hookinbox.wsgi import WebhookMiddleware as WSGIMiddleware
from tests.stores._helpers import (
    PROVIDER,
    TcpProxy,
    asgi_deliver,
    inbox_for,
    signed_body,
    via,
    wait_until,
    wsgi_deliver,
)


def check_outage(inbox: Any, down: Any, up: Any) -> None:
    """Deliver before, during and after an outage, through WSGI and ASGI."""
    app = WSGIMiddleware(None, inbox)
    assert wsgi_deliver(app, signed_body("before"))[0] == 200
    down()
    status, headers, body = wsgi_deliver(app, signed_body("during"))
    assert (status, headers.get("retry-after"), body.get("error")) == (503, "5", "store_unavailable"), body

    async def during_async() -> int:
        status = (await asgi_deliver(ASGIMiddleware(None, inbox), signed_body("during-async")))[0]
        await inbox.ashutdown()
        return status

    assert asyncio.run(during_async()) == 503
    up()
    wait_until(lambda: wsgi_deliver(app, signed_body("during"))[0] == 200, what="service to come back")
    assert inbox.store.get(PROVIDER.endpoint, "during") is not None
    assert inbox.store.get(PROVIDER.endpoint, "during-async") is None  # never acked, never kept


def test_server_cut_off(store_url: tuple[str, dict[str, Any]]) -> None:
    """PostgreSQL, MariaDB, Redis behind a proxy that is cut: 503 + Retry-After, then 200 again."""
    url, options = store_url
    if url.startswith(("memory", "sqlite")):
        pytest.skip("no server to lose")
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 0)
    proxy.start()
    inbox = inbox_for((via(url, proxy.port), options))
    try:
        check_outage(inbox, proxy.stop, proxy.start)
    finally:
        proxy.stop()
        inbox.close()


@pytest.mark.slow
def test_private_redis_restarted(redis_url: str, namespace: str) -> None:
    """A private redis-server killed and started again: 503 + Retry-After meanwhile, then 200."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(lambda: _listening(port), what="redis-server to listen")

    def stop() -> None:
        procs[-1].kill()
        procs[-1].wait(10)

    start()
    inbox = inbox_for((f"redis://127.0.0.1:{port}/0", {"prefix": f"{namespace}:"}))
    try:
        check_outage(inbox, stop, start)
    finally:
        inbox.close()
        for p in procs:
            p.kill()
            p.wait(10)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_a_silently_dead_connection_is_abandoned_and_health_says_so(store_url: tuple[str, dict[str, Any]]) -> None:
    """PostgreSQL, MariaDB, Redis: the open connections die without FIN/RST (a proxy that swallows
    everything). Deliveries get 503 while /healthz reports the store unhealthy with a reason, then the
    stuck calls are abandoned, the connections replaced and deliveries get 200 again within seconds."""
    from hookinbox.cli.serve import healthz

    url, options = store_url
    if url.startswith(("memory", "sqlite")):
        pytest.skip("no server to lose")
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 0)
    proxy.start()
    inbox = inbox_for((via(url, proxy.port), options))
    app = WSGIMiddleware(None, inbox)
    try:
        assert wsgi_deliver(app, signed_body("before"))[0] == 200
        # a claim or settlement stuck on a dead connection may still fail after that: healthy once a write
        # succeeds after the last failure
        wait_until(lambda: asyncio.run(healthz(inbox))[0] == 200, timeout=20, what="healthy again")
        proxy.blackhole()
        status, headers, body = wsgi_deliver(app, signed_body("during"))
        assert (status, headers.get("retry-after"), body.get("error")) == (503, "5", "store_unavailable"), body
        status, info = asyncio.run(healthz(inbox))
        assert status == 503 and info["status"] == "unavailable" and info["error"], info
        proxy.forward_new()  # the connections hookinbox holds stay dead: it must notice and connect afresh
        wait_until(lambda: wsgi_deliver(app, signed_body("during"))[0] == 200, timeout=30, what="service back")
        assert inbox.store.get(PROVIDER.endpoint, "during") is not None
        # a claim or settlement stuck on a dead connection may still fail after that: healthy once a write
        # succeeds after the last failure
        wait_until(lambda: asyncio.run(healthz(inbox))[0] == 200, timeout=20, what="healthy again")
    finally:
        proxy.stop()
        inbox.close()


@pytest.mark.parametrize("store_url", ["postgresql", "mariadb"], indirect=True)
def test_schema_changes_and_retention_are_not_cut_off_by_the_read_timeout(
    store_url: tuple[str, dict[str, Any]],
) -> None:
    """The client-side read timeout abandons hot-path calls only: a long statement in the untimed
    transaction (DDL, retention) finishes, and the connection is timed again afterwards."""
    from hookinbox.stores._sqlschema import WATCHDOG
    from hookinbox.stores.sql import SQLStore

    url, options = store_url
    store = SQLStore.from_url(url, **{**options, "statement_timeout": 0.5, "read_timeout": 1.0})
    sleep = "SELECT pg_sleep(1.5)" if store.dialect == "postgresql" else "SELECT SLEEP(1.5)"
    try:
        before = WATCHDOG.abandoned
        with store._untimed() as conn:
            conn.exec_driver_sql(sleep)
        assert WATCHDOG.abandoned == before
        assert store.health().ok
    finally:
        store.close()
