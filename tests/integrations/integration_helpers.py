"""Shared by the framework tests: signed seed deliveries, the refusal contract, servers on free ports."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from tests.toolkit import Delivery, wait_for

from hookinbox.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SECRET_VARS = (
    "NIMBUS_WEBHOOK_SECRET",
    "NIMBUS_API_KEY",
    "NOVAMED_WEBHOOK_SECRET",
    "WEBHOOK_SECRET",
    "CIMPLIFY_WEBHOOK_SECRET",
)


def seed_deliveries(settings: Settings) -> list[Delivery]:
    """Every doc sample of every preset endpoint, signed the way its provider signs."""
    out = []
    for ep in settings.endpoints.values():
        assert ep.preset is not None
        for sample in ep.preset.samples:
            body = json.dumps(sample).encode()
            headers = {**ep.verifier.headers_for(body, time.time()), "content-type": "application/json"}
            out.append(Delivery(ep.name, ep.path, body, headers))
    return out


# -- the refusal contract, for every shell ----------------------------------------------------

Post = Callable[[str, str, bytes, dict[str, str]], tuple[int, dict[str, Any], dict[str, str]]]


def check_refusals(request: Post, settings: Settings) -> None:
    """401 bad signature, 400 malformed body, 405 wrong method, 413 over max_body: each with the core's JSON."""
    ep = settings.endpoints["shop"]  # HMAC over the body
    good = json.dumps(ep.preset.samples[0]).encode()  # type: ignore[union-attr]
    signed = ep.verifier.headers_for(good, time.time())

    status, body, _ = request("POST", ep.path, good, {"x-cimplify-signature": "0" * 64})
    assert (status, body["error"]) == (401, "unauthorized")
    status, body, _ = request("POST", ep.path, good, {})
    assert (status, body["error"]) == (401, "unauthorized")

    bad = b"{not json"
    status, body, _ = request("POST", ep.path, bad, ep.verifier.headers_for(bad, time.time()))
    assert (status, body["error"]) == (400, "malformed")

    status, body, headers = request("GET", ep.path, b"", {})
    assert (status, body["error"], headers.get("allow")) == (405, "method_not_allowed", "POST")

    big = json.dumps({**ep.preset.samples[0], "pad": "x" * (ep.max_body + 10)}).encode()  # type: ignore[union-attr]
    status, body, _ = request("POST", ep.path, big, ep.verifier.headers_for(big, time.time()))
    assert (status, body["error"]) == (413, "too_large")

    status, body, _ = request("POST", ep.path, good, signed)
    assert (status, body) == (200, {"received": True})
    status, body, _ = request("POST", ep.path, good, signed)
    assert (status, body) == (200, {"received": True, "duplicate": True})


# -- reading ----------------------------------------------------------------------------------


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def example_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS and k != "HOOKINBOX_STORE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["EXAMPLE_EVENTS_LOG"] = str(tmp / "events.jsonl")
    env.update(extra)
    return env


def gunicorn(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5", app]


def uvicorn(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", app]


@contextmanager
def server(cmd: list[str], cwd: Path, env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """Run a server until its port answers; yield its base URL; stop it (SIGTERM, then kill)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"server did not listen within 30 s:\n{log.read_text()[-3000:]}") from None
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def exercise_example(base: str, settings: Settings, events_log: Path) -> None:
    """The seed deliveries are accepted and handled once, duplicates dropped, host routes intact."""
    import httpx

    deliveries = seed_deliveries(settings)
    assert len(deliveries) == 10  # 3 + 3 + 2 + 1 + 1 doc samples
    with httpx.Client(base_url=base, timeout=10) as client:
        for d in deliveries:
            r = client.post(d.path, content=d.body, headers=d.headers)
            assert (r.status_code, r.json()) == (200, {"received": True}), (d.endpoint, r.text)
        for d in deliveries:
            r = client.post(d.path, content=d.body, headers=d.headers)
            assert r.json() == {"received": True, "duplicate": True}, (d.endpoint, r.text)
        d = deliveries[0]
        r = client.post(d.path, content=d.body + b" ", headers=d.headers)
        assert r.status_code == 401  # signed bytes changed: forged
        seen = wait_for(lambda: len(read_lines(events_log)) >= 10 and read_lines(events_log), what="handlers")
        r = client.get("/")
        assert r.status_code == 200 and r.json()["app"]
        r = client.post("/echo", content=b'{"hello": "host"}', headers={"content-type": "application/json"})
        assert r.status_code == 200 and r.json()["echo"] == '{"hello": "host"}'
    keys = [(e["endpoint"], e["id"]) for e in seen]
    assert len(keys) == 10 and len(set(keys)) == 10  # each handled once, duplicates dropped
    assert {e["endpoint"] for e in seen} == set(settings.endpoints)


@asynccontextmanager
async def lifespan_of(app: Any) -> AsyncIterator[dict[str, Any]]:
    """Run an ASGI app's lifespan (startup on enter, shutdown on exit); yields the lifespan state."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    assert (await asyncio.wait_for(from_app.get(), 10))["type"] == "lifespan.startup.complete"
    try:
        yield scope["state"]
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        assert (await asyncio.wait_for(from_app.get(), 30))["type"] == "lifespan.shutdown.complete"
        await asyncio.wait_for(task, 10)
