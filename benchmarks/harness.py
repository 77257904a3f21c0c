"""Building blocks of the benchmark: signed bodies, servers, the load generator.

Kept apart from ``run.py`` (which decides what to measure and writes the report)
so that the smoke test can read them. Nothing here is imported by hookinbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECRET = "bench-secret"
HEADER = "X-Webhook-Signature"
BODY_SIZE = 1024

#: host name -> (server, app factory)
HOSTS: dict[str, tuple[str, str]] = {
    "raw": ("uvicorn", "apps:raw_app"),
    "starlette": ("uvicorn", "apps:starlette_app"),
    "fastapi": ("uvicorn", "apps:fastapi_app"),
    "flask": ("gunicorn", "apps:flask_app()"),
}


def cores() -> tuple[str, str] | None:
    """(server core, load core) when there are two cores to pin to, else None."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return None
    return str(cpus[0]), str(cpus[1])


def pin(cmd: list[str], core: str | None) -> list[str]:
    return ["taskset", "-c", core, *cmd] if core is not None else cmd


# -- bodies ---------------------------------------------------------------------------------


def _template() -> tuple[str, str]:
    """A ~1 KB nimbus-orders event split around its id (ids are fixed-width, so every body is the same size)."""
    payload = {
        "id": "@ID@",
        "type": "order.created",
        "createdAt": "2025-01-15T10:30:00Z",
        "data": {
            "orderId": "ord_abc123xyz",
            "patientId": "pat_1234567890",
            "prescriptionId": "rx_9876543210",
            "status": "pending",
            "items": [{"sku": f"sku_{k:04d}", "quantity": k + 1, "price": "12.50"} for k in range(6)],
            "note": "",
        },
    }
    text = json.dumps(payload, separators=(",", ":"))
    pad = BODY_SIZE - len(text.replace("@ID@", "evt_" + "x" * 8 + "_" + "0" * 9))
    text = text.replace('"note":""', '"note":"' + "n" * max(0, pad) + '"')
    before, after = text.split("@ID@")
    return before, after


def write_bodies(path: Path, run: str, count: int, secret: str = SECRET) -> Path:
    """``count`` bodies with ids ``evt_<run>_<n>``, each signed: one ``<hex hmac> <body>`` per line."""
    before, after = _template()
    key = secret.encode()
    prefix = f"{before}evt_{run[:8]:x<8}_".encode()
    tail = after.encode()
    with path.open("wb") as f:
        for n in range(count):
            body = b"%s%09d%s" % (prefix, n, tail)
            f.write(b"%s %s\n" % (hmac.new(key, body, hashlib.sha256).hexdigest().encode(), body))
    return path


# -- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    host: str
    port: int
    proc: subprocess.Popen[bytes]

    def rss_kb(self) -> int:
        """Resident memory of the server process and its children (gunicorn's worker), in KiB."""
        total = 0
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo.extend(int(c) for c in (task / "children").read_text().split())
            except (OSError, ValueError):
                continue
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the server process and its children."""
        total = 0
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo.extend(int(c) for c in (task / "children").read_text().split())
            except (OSError, ValueError, IndexError):
                continue
        return total / os.sysconf("SC_CLK_TCK")

    def load(self, path: str, bodies: Path, conns: int, seconds: int, core: str | None) -> dict[str, float]:
        """:func:`load` on this server, adding the server's CPU microseconds per request (``cpu_us``)."""
        before = self.cpu_seconds()
        out = load(self.port, path, bodies, conns, seconds, core)
        used = self.cpu_seconds() - before
        out["cpu_us"] = used / out["requests"] * 1e6 if out["requests"] else 0.0
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_server(host: str, env_extra: dict[str, str], core: str | None, log: Path) -> Server:
    server, target = HOSTS[host]
    port = free_port()
    if server == "uvicorn":
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--factory",
            "--app-dir",
            str(HERE),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "on",
        ]
        try:
            import httptools  # noqa: F401
            import uvloop  # noqa: F401

            cmd += ["--loop", "uvloop", "--http", "httptools"]
        except ImportError:
            pass
    else:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--chdir",
            str(HERE),
            "-w",
            "1",
            "-k",
            "gthread",
            "--threads",
            "8",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            target,
        ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([os.environ.get("BENCH_SRC", str(ROOT / "src")), str(HERE)]),
        "BENCH_SECRET": SECRET,
        **env_extra,
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(pin(cmd, core), env=env, stdout=out, stderr=subprocess.STDOUT)
    srv = Server(host, port, proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{host} server exited with {proc.returncode}; see {log}")
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/bare", data=b"{}", method="POST")
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return srv
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    srv.stop()
    raise RuntimeError(f"{host} server did not answer within 30 s; see {log}")


# -- load -----------------------------------------------------------------------------------


def have_wrk() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_NO_WRK") != "1"


def load(port: int, path: str, bodies: Path, conns: int, seconds: int, core: str | None) -> dict[str, float]:
    """Drive ``path`` with ``conns`` keep-alive connections for ``seconds``; wrk's numbers as a dict."""
    env = {**os.environ, "BENCH_PATH": path, "BENCH_BODIES": str(bodies), "BENCH_HEADER": HEADER}
    if have_wrk():
        cmd = [
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "post.lua"),
            f"http://127.0.0.1:{port}",
        ]
    else:
        cmd = [
            sys.executable,
            str(HERE / "pyload.py"),
            "127.0.0.1",
            str(port),
            path,
            str(bodies),
            str(conns),
            str(seconds),
        ]
    done = subprocess.run(pin(cmd, core), env=env, capture_output=True, text=True, timeout=seconds + 120)
    for line in done.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            out: dict[str, float] = json.loads(line[len("BENCHJSON ") :])
            out["rps"] = out["requests"] / (out["duration_us"] / 1e6) if out["duration_us"] else 0.0
            return out
    raise RuntimeError(f"load generator gave no result (exit {done.returncode}): {done.stderr[-500:]}")
