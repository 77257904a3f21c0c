"""Graceful shutdown: drain to a deadline, leave the rest in the store, lose nothing across a restart."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

from execution_helpers import PATH, delivery, settings
from tests.toolkit import wait_for, wait_status
from werkzeug.test import Client

from hookinbox import Inbox, Status
from hookinbox.events import Event
from hookinbox.stores.memory import MemoryStore
from hookinbox.wsgi import WebhookMiddleware as WsgiMiddleware

SRC = str(Path(__file__).resolve().parents[2] / "src")
ROOT = str(Path(__file__).resolve().parents[2])  # execution_helpers imports tests.toolkit


def test_thread_executor_drains_queued_events_before_the_deadline(store_url: str) -> None:
    """shutdown() stops taking work and finishes everything already queued within drain_timeout."""
    ib = Inbox.from_settings(settings(store_url, workers=1))
    handled: list[str] = []
    ib.add_handler(lambda e: (time.sleep(0.01), handled.append(e.id)))
    client = Client(WsgiMiddleware(None, ib))
    for i in range(10):
        body, headers = delivery(f"q{i}")
        assert client.post(PATH, data=body, headers=headers).status_code == 200
    ex = ib.sync_executor()
    assert ib.shutdown() is True
    assert sorted(handled) == sorted(f"q{i}" for i in range(10))
    assert ex.submit("generic", "late") is False  # a stopped executor takes nothing
    ib.close()


def test_thread_executor_deadline_leaves_the_rest_for_the_next_process() -> None:
    """Past the deadline nothing more is taken; a restart recovers the queued events and the stuck one (lease)."""
    store = MemoryStore()
    old = Inbox.from_settings(settings(workers=1, lease="300ms"), store=store)
    gate = threading.Event()
    old_handled: list[str] = []

    def stuck(event: Event) -> None:
        gate.wait(10)
        old_handled.append(event.id)

    old.add_handler(stuck)
    client = Client(WsgiMiddleware(None, old))
    try:
        for i in range(4):
            body, headers = delivery(f"s{i}")
            assert client.post(PATH, data=body, headers=headers).status_code == 200
        wait_for(lambda: store.get("generic", "s0").status is Status.PROCESSING, what="s0 in flight")
        assert old.shutdown(timeout=0.1) is False
        assert [store.get("generic", f"s{i}").status for i in range(1, 4)] == [Status.PENDING] * 3

        new = Inbox.from_settings(settings(workers=2, lease="300ms"), store=store)  # the restarted process
        new_handled: list[str] = []
        new.add_handler(lambda e: new_handled.append(e.id))
        new.startup()
        for i in range(4):
            wait_status(new, f"s{i}", Status.DONE)
        assert sorted(new_handled) == ["s0", "s1", "s2", "s3"]
        new.shutdown()
    finally:
        gate.set()
    wait_for(lambda: old_handled == ["s0"], what="the stuck thread to finish")
    assert store.get("generic", "s0").status is Status.DONE and store.get("generic", "s0").attempts == 2


def test_asyncio_shutdown_releases_cancelled_events_for_an_immediate_restart() -> None:
    """A coroutine handler cancelled at the deadline is released: the next process runs it without waiting the lease."""
    store = MemoryStore()
    old = Inbox.from_settings(settings(lease="1h"), store=store)

    async def hangs(event: Event) -> None:
        await asyncio.Event().wait()

    old.add_handler(hangs)

    async def first_life() -> bool:
        from hookinbox.core import receive
        from hookinbox.drive import run_async

        await old.astartup()
        body, headers = delivery("c1")
        reply = await run_async(
            receive(
                old, old.endpoints["generic"], {k.lower(): v for k, v in headers.items()}, body, old.async_executor()
            )
        )
        assert reply.status == 200
        for _ in range(500):
            if store.get("generic", "c1").status is Status.PROCESSING:
                break
            await asyncio.sleep(0.01)
        return await old.ashutdown(timeout=0.05)

    assert asyncio.run(first_life()) is False
    rec = store.get("generic", "c1")
    assert rec.status is Status.FAILED and rec.last_error == "interrupted by shutdown"

    new = Inbox.from_settings(settings(lease="1h"), store=store)
    handled: list[str] = []
    new.add_handler(lambda e: handled.append(e.id))

    async def second_life() -> None:
        await new.astartup()
        for _ in range(500):
            if store.get("generic", "c1").status is Status.DONE:
                break
            await asyncio.sleep(0.01)
        await new.ashutdown()

    asyncio.run(second_life())
    assert handled == ["c1"] and store.get("generic", "c1").status is Status.DONE


WSGI_APP = textwrap.dedent(
    """
    import os, time
    from hookinbox import Inbox
    from hookinbox.wsgi import WebhookMiddleware
    from execution_helpers import settings

    inbox = Inbox.from_settings(settings(os.environ["STORE"], workers=1, drain_timeout="200ms", lease="300ms"))
    inbox.add_handler(lambda e: time.sleep(30), name="slow")  # still running when the worker exits
    app = WebhookMiddleware(None, inbox)
    """
)


def test_gunicorn_worker_exit_drains_and_a_restart_loses_nothing(sqlite_store: str, tmp_path: Path) -> None:
    """gunicorn stopped mid-handler: the worker's atexit drain leaves its events in the store; a restart handles all."""
    import signal

    import httpx

    (tmp_path / "wsgiapp.py").write_text(WSGI_APP)
    env = {
        **os.environ,
        "STORE": sqlite_store,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), SRC, str(Path(__file__).parent), ROOT]),
    }
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgiapp:app"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_http(proc, port, tmp_path / "gunicorn.log")
        for i in range(5):
            body, headers = delivery(f"w{i}")
            assert httpx.post(f"http://127.0.0.1:{port}{PATH}", content=body, headers=headers).status_code == 200
        probe = Inbox.from_settings(settings(sqlite_store))
        wait_for(lambda: probe.store.get("generic", "w0").status is Status.PROCESSING, what="w0 in flight")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    assert "drain deadline passed" in (tmp_path / "gunicorn.log").read_text()
    statuses = [probe.store.get("generic", f"w{i}").status for i in range(5)]
    probe.close()
    # the event in flight keeps its lease (a thread cannot be stopped); the others were never taken
    assert statuses == [Status.PROCESSING] + [Status.PENDING] * 4

    new = Inbox.from_settings(settings(sqlite_store, lease="300ms"))
    handled: list[str] = []
    new.add_handler(lambda e: handled.append(e.id), name="slow")
    new.startup()
    try:
        for i in range(5):
            wait_status(new, f"w{i}", Status.DONE)
    finally:
        new.close()
    assert sorted(handled) == [f"w{i}" for i in range(5)]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    import httpx

    def up() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/").status_code == 404
        except httpx.TransportError:
            return False

    wait_for(up, 20, f"a server on port {port}")


ASGI_APP = textwrap.dedent(
    """
    import asyncio, os
    from hookinbox import Inbox
    from hookinbox.asgi import WebhookMiddleware
    from execution_helpers import settings

    inbox = Inbox.from_settings(settings(os.environ["STORE"], workers=2, drain_timeout="300ms", lease="1h"))

    @inbox.on("*")
    async def hangs(event):
        await asyncio.Event().wait()  # still running when the server stops

    app = WebhookMiddleware(None, inbox)
    """
)


def test_asgi_lifespan_shutdown_releases_and_a_restart_loses_nothing(sqlite_store: str, tmp_path: Path) -> None:
    """uvicorn stopped with events in flight: lifespan shutdown drains, releases, and the next process handles all."""
    import signal

    import httpx

    (tmp_path / "asgiapp.py").write_text(ASGI_APP)
    env = {
        **os.environ,
        "STORE": sqlite_store,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), SRC, str(Path(__file__).parent), ROOT]),
    }
    port = _free_port()
    log = (tmp_path / "uvicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "asgiapp:app", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_http(proc, port, tmp_path / "uvicorn.log")
        for i in range(5):
            body, headers = delivery(f"u{i}")
            assert httpx.post(f"http://127.0.0.1:{port}{PATH}", content=body, headers=headers).status_code == 200
        probe = Inbox.from_settings(settings(sqlite_store))
        wait_for(
            lambda: sum(probe.store.get("generic", f"u{i}").status is Status.PROCESSING for i in range(5)) == 2,
            what="two events in flight",
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a graceful stop
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    assert "Application shutdown complete" in (tmp_path / "uvicorn.log").read_text()
    statuses = Counter(probe.store.get("generic", f"u{i}").status for i in range(5))
    assert statuses == {Status.FAILED: 2, Status.PENDING: 3}  # 2 released at the deadline, 3 never started
    probe.close()

    new = Inbox.from_settings(settings(sqlite_store, lease="1h"))  # a lease that long proves the release
    handled: list[str] = []
    new.add_handler(lambda e: handled.append(e.id))
    new.startup()
    try:
        for i in range(5):
            wait_status(new, f"u{i}", Status.DONE)
    finally:
        new.close()
    assert sorted(handled) == [f"u{i}" for i in range(5)]
