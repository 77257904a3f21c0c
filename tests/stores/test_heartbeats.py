"""Process registry and heartbeats: a dead process's claims come back in seconds, a live one's never do.

Every test runs on every durable store against the real servers (``store_url``); the memory store
has nothing to recover (it dies with its process), which the last test states.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hookinbox.events import Status
from hookinbox.stores import store_from_url
from hookinbox.wsgi import WebhookMiddleware
from tests.stores._helpers import (
    EVENT_ID,
    PROVIDER,
    TcpProxy,
    inbox_for,
    signed_body,
    spawn_worker,
    via,
    wsgi_deliver,
)
from tests.toolkit import wait_for

pytestmark = pytest.mark.slow

# a dead process is noticed after 2 s of silence; the lease (how long one handler may run) stays 5 min
LIVENESS = {"heartbeat_interval": 0.2, "process_timeout": 2.0}


def _durable(store_url: tuple[str, dict[str, Any]]) -> None:
    if store_url[0].startswith("memory"):
        pytest.skip(
            "the memory store dies with its process: nothing to recover (see test_memory_store_registers_nothing)"
        )


def _hold(store_url: tuple[str, dict[str, Any]], marker: Path, n: int) -> Any:
    """A receiver that acks ``n`` events and blocks in every handler; returned once all handlers started."""
    url, options = store_url
    proc = spawn_worker(
        {
            "url": url,
            "options": options,
            "marker": str(marker),
            "mode": "hold",
            "n": n,
            "liveness": LIVENESS,
            "recover_after": 3600,
        }
    )
    assert proc.stdout is not None
    for _ in range(n):
        assert json.loads(proc.stdout.readline()) == {"status": 200}
    wait_for(lambda: marker.exists() and marker.read_text().count("started") >= n, what="the handlers to start")
    return proc


def _kill(proc: Any) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)


def _ids(n: int) -> list[str]:
    return [f"held-{i}" for i in range(n)]


def test_a_live_replica_takes_over_a_killed_receivers_events(store_url: Any, tmp_path: Path) -> None:
    """SIGKILL a receiver mid-handler: a replica that was already running handles its events (lease 300 s)."""
    _durable(store_url)
    handled: list[str] = []
    replica = inbox_for(store_url, sweep_interval=0.2, recover_after=3600, **LIVENESS)
    replica.on("*")(lambda event: handled.append(event.id))
    replica.startup()
    try:
        proc = _hold(store_url, tmp_path / "runs.txt", 3)
        dead = [p.id for p in replica.store.processes() if p.pid == proc.pid]
        assert len(dead) == 1  # the receiver registered itself
        _kill(proc)
        wait_for(lambda: sorted(handled) == _ids(3), timeout=30, what="the replica to handle the killed events")
        for event_id in _ids(3):  # the settlement is batched: it may land a moment after the handler
            rec = wait_for(
                lambda i=event_id: (
                    (r := replica.store.get(PROVIDER.endpoint, i)) is not None and r.status is Status.DONE and r
                ),
                what=f"{event_id} done",
            )
            assert rec.attempts == 2
            assert [a.outcome for a in rec.history] == ["released", "done"]
            assert rec.history[0].process == dead[0]
        assert dead[0] not in [p.id for p in replica.store.processes()]  # pruned
    finally:
        replica.close()


def test_a_restarted_process_recovers_the_killed_ones_events(store_url: Any, tmp_path: Path) -> None:
    """SIGKILL, then start afresh: the new process gives the dead one's claims back and handles them."""
    _durable(store_url)
    proc = _hold(store_url, tmp_path / "runs.txt", 2)
    _kill(proc)
    handled: list[str] = []
    restarted = inbox_for(store_url, sweep_interval=0.2, recover_after=3600, **LIVENESS)
    restarted.on("*")(lambda event: handled.append(event.id))
    restarted.startup()
    try:
        wait_for(lambda: sorted(handled) == _ids(2), timeout=30, what="the restarted process to handle them")
    finally:
        restarted.close()


def test_a_live_process_long_handler_runs_once(store_url: Any) -> None:
    """A handler longer than process_timeout in a heartbeating process is never given to another process."""
    _durable(store_url)
    runs: list[str] = []
    release = threading.Event()
    busy = inbox_for(store_url, sweep_interval=0.1, recover_after=0.1, **LIVENESS)
    other = inbox_for(store_url, sweep_interval=0.1, recover_after=0.1, **LIVENESS)

    @busy.on("*")
    def slow(event: Any) -> None:
        runs.append("busy")
        release.wait(20)

    other.on("*")(lambda event: runs.append("other"))
    busy.startup()
    other.startup()
    try:
        status, _, _ = wsgi_deliver(WebhookMiddleware(None, busy))
        assert status == 200
        wait_for(lambda: runs == ["busy"], what="the handler to start")
        time.sleep(3 * LIVENESS["process_timeout"])  # well past process_timeout: the other sweeps meanwhile
        assert runs == ["busy"]
        release.set()
        wait_for(
            lambda: (rec := other.store.get(PROVIDER.endpoint, EVENT_ID)) is not None and rec.status is Status.DONE,
            what="the event to finish",
        )
        assert runs == ["busy"]
    finally:
        release.set()
        busy.close()
        other.close()


def _cut(store_url: Any, tmp_path: Path) -> tuple[tuple[str, dict[str, Any]], Any]:
    """The store behind something the test can break: a TCP proxy, or for SQLite an exclusive lock."""
    url, options = store_url
    if url.startswith("sqlite"):
        return store_url, None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 0)
    proxy.start()
    timeouts = (
        {"request_timeout": 1.0} if url.startswith("redis") else {"record_timeout": 1.0, "statement_timeout": 1.0}
    )
    return (via(url, proxy.port), {**options, **timeouts}), proxy


def test_heartbeats_failing_past_the_timeout_stop_claims_and_rejoin(
    store_url: Any, tmp_path: Path, caplog: Any
) -> None:
    """Store unreachable longer than process_timeout: stop claiming, say so; store back: a fresh registration."""
    _durable(store_url)
    reachable, proxy = _cut(store_url, tmp_path)
    inbox = inbox_for(reachable, sweep_interval=0.2, recover_after=0.2, **LIVENESS)
    handled: list[str] = []
    inbox.on("*")(lambda event: handled.append(event.id))
    inbox.startup()
    lock: sqlite3.Connection | None = None
    try:
        first = inbox.runtime.owner
        assert first is not None and inbox.liveness.can_claim
        if proxy is not None:
            proxy.stop()
        else:  # SQLite: another connection holds the write lock, so every write (heartbeats too) fails
            lock = sqlite3.connect(reachable[0].removeprefix("sqlite:///"), timeout=10, isolation_level=None)
            lock.execute("BEGIN EXCLUSIVE")
        with caplog.at_level("ERROR", logger="hookinbox.liveness"):
            wait_for(lambda: not inbox.liveness.can_claim, timeout=20, what="the process to stop claiming")
            wait_for(lambda: "stops claiming" in caplog.text, timeout=20, what="the log to say so")
        if proxy is not None:
            proxy.start()
        else:
            assert lock is not None
            lock.execute("ROLLBACK")
        wait_for(lambda: inbox.liveness.can_claim, timeout=30, what="the process to rejoin")
        assert inbox.runtime.owner not in (None, first)  # registered afresh, with a new id
        assert inbox.runtime.owner in [p.id for p in inbox.store.processes()]
        status, _, _ = wsgi_deliver(WebhookMiddleware(None, inbox), signed_body("after"))
        assert status == 200
        wait_for(lambda: "after" in handled, timeout=30, what="claims to resume")
    finally:
        if lock is not None:
            lock.close()
        inbox.close()
        if proxy is not None:
            proxy.stop()


def test_graceful_shutdown_deregisters(store_url: Any) -> None:
    """A process that drained leaves the registry; its row is not left for others to prune."""
    _durable(store_url)
    inbox = inbox_for(store_url, **LIVENESS)
    inbox.startup()
    me = inbox.runtime.owner
    check = store_from_url(store_url[0], **store_url[1])
    try:
        assert me in [p.id for p in check.processes()]
        assert inbox.shutdown(5)
        assert me not in [p.id for p in check.processes()]
    finally:
        inbox.close()
        check.close()


def test_memory_store_registers_nothing() -> None:
    """With the memory store nothing registers: there is nothing another process could recover."""
    inbox = inbox_for(("memory://", {}), **LIVENESS)
    inbox.startup()
    try:
        assert inbox.runtime.owner is None and inbox.liveness.can_claim
    finally:
        inbox.close()


def test_the_django_database_recovers_a_killed_process(tmp_path: Path) -> None:
    """The same on the Django store: a Django process SIGKILLed mid-handler, a new one takes its events."""
    import os
    import subprocess
    import sys

    from tests.conftest import require_module

    require_module("django")
    root = Path(__file__).resolve().parents[2]
    script = root / "tests" / "integrations" / "dj" / "heartbeat_worker.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    db, marker = str(tmp_path / "dj.sqlite3"), tmp_path / "runs.txt"

    def run(mode: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(script), db, str(marker), mode, "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    held = run("hold")
    try:
        assert held.stdout is not None
        assert [held.stdout.readline().strip() for _ in range(2)] == ["200", "200"]
        wait_for(lambda: marker.exists() and marker.read_text().count("started") >= 2, what="the handlers to start")
    finally:
        _kill(held)
    recover = run("recover")
    out, err = recover.communicate(timeout=90)
    assert recover.returncode == 0, err[-2000:]
    assert out.strip() == "2", err[-2000:]
    assert sorted(line.split()[1] for line in marker.read_text().splitlines() if line.startswith("done")) == _ids(2)
