"""Helpers to drive ``python -m hookinbox`` as a user would: subprocesses, real HTTP, real signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import hookinbox
from tests.seeds import PROVIDERS
from tests.toolkit import wait_for

SRC = str(Path(hookinbox.__file__).resolve().parent.parent)

HANDLERS = '''
import os
from pathlib import Path


def record(event):
    """Append "endpoint id type attempt" to $HANDLED_LOG (never the body)."""
    with open(os.environ["HANDLED_LOG"], "a") as f:
        f.write(f"{event.endpoint} {event.id} {event.type} {event.attempt}\\n")


def flaky(event):
    """Fails while $FAIL_FLAG exists, then records."""
    if Path(os.environ["FAIL_FLAG"]).exists():
        raise RuntimeError("flag is up")
    record(event)
'''


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKINBOX_")}
    env.update(PYTHONPATH=SRC, HANDLED_LOG=str(tmp / "handled.log"), FAIL_FLAG=str(tmp / "fail.flag"), **extra)
    return env


def run_cli(*args: str, cwd: Path, timeout: float = 60, **extra: str) -> subprocess.CompletedProcess[str]:
    """``python -m hookinbox ARGS`` in ``cwd``; returns the finished process (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "hookinbox", *args],
        cwd=cwd,
        env=cli_env(cwd, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_settings(
    directory: Path, *, store: str | None = "memory://", handler: str = "cli_handlers:record", **extra: Any
) -> Path:
    """hookinbox.toml with the five seed providers, a handlers module next to it, and `extra` globals."""
    (directory / "cli_handlers.py").write_text(HANDLERS)
    lines = ["[hookinbox]"]
    if store is not None:
        lines.append(f'store = "{store}"')
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    for p in PROVIDERS:
        lines += [
            f"[endpoints.{p.endpoint}]",
            f'path = "{p.path}"',
            f'preset = "{p.preset.name}"',
            f'secret = "{p.secret}"',
            f'handlers = {{ "*" = "{handler}" }}',
        ]
    path = directory / "hookinbox.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


class Server:
    """``hookinbox serve --port 0`` in a subprocess; ``url`` once /healthz answers 200."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.cwd = cwd
        self.out = cwd / "serve.out"
        self.err = cwd / "serve.err"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hookinbox", "serve", "--port", "0", *args],
                cwd=cwd,
                env=cli_env(cwd),
                stdout=out,
                stderr=err,
            )
        found = wait_for(self._address, what="the listening line")
        self.url = f"http://{found}"
        wait_for(lambda: self._healthy(), what="/healthz")

    def _address(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited {self.proc.returncode}: {self.err.read_text()}")
        m = re.search(r"listening on http://(\S+)", self.out.read_text())
        return m.group(1) if m else None

    def _healthy(self) -> bool:
        try:
            return get(self.url + "/healthz")[0] == 200
        except OSError:
            return False

    def handled(self) -> list[list[str]]:
        log = self.cwd / "handled.log"
        return [line.split() for line in log.read_text().splitlines()] if log.exists() else []

    def stop(self) -> tuple[int, str]:
        """SIGTERM, wait; returns the exit status and stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(5)
        return rc, self.err.read_text()
