"""Slow, silent and vanishing senders against real servers (issue 16, rows 6, 7, 8, 15).

Each test starts uvicorn or gunicorn on an app that mounts the inbox, and talks to it with raw
sockets: a client that sends its headers and then nothing, one that stops half-way, one that hangs
up mid-body, and a chunked body of exactly ``max_body`` bytes.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_module
from tests.integrations.integration_helpers import ROOT, example_env, free_port, server
from tests.seeds import PROVIDERS

P = PROVIDERS[0]
MAX_BODY = 1000

APP = f"""
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
from hookinbox import Inbox
from hookinbox.asgi import WebhookMiddleware as ASGI
from hookinbox.wsgi import WebhookMiddleware as WSGI
from tests.seeds import settings_dict

inbox = Inbox.from_settings(settings_dict(body_timeout="1s", max_body={MAX_BODY}))
asgi_app = ASGI(None, inbox)
wsgi_app = WSGI(None, inbox)
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "slow_app.py").write_text(APP)
    return tmp_path


def _env(tmp: Path) -> dict[str, str]:
    env = example_env(tmp)
    env["PYTHONPATH"] = f"{tmp}:{ROOT / 'src'}:{ROOT}"
    return env


@pytest.fixture
def uvicorn_port(app_dir: Path) -> Iterator[int]:
    require_module("uvicorn")
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "slow_app:asgi_app"]
    with server(cmd, app_dir, _env(app_dir), port, app_dir / "server.log"):
        yield port


@pytest.fixture(params=["sync", "gthread"])
def gunicorn_port(app_dir: Path, request: pytest.FixtureRequest) -> Iterator[int]:
    """gunicorn with one worker: sync (as the Flask example runs it) and gthread with one thread."""
    require_module("gunicorn")
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-w", "1", "-k", request.param, "--threads", "1",
           "-b", f"127.0.0.1:{port}", "--timeout", "30", "--graceful-timeout", "5", "slow_app:wsgi_app"]  # fmt: skip
    with server(cmd, app_dir, _env(app_dir), port, app_dir / "server.log"):
        yield port


def head(body_length: int | None, body: bytes, *, chunked: bool = False, close: bool = True) -> bytes:
    """The request head; without ``close`` the connection is kept alive (a refused one must end anyway)."""
    lines = [f"POST {P.path} HTTP/1.1", "Host: 127.0.0.1", *(["Connection: close"] if close else [])]
    lines += [f"{k}: {v}" for k, v in P.headers(body).items() if k.lower() != "content-length"]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {body_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_reply(s: socket.socket) -> tuple[int, bytes]:
    """The status and body of the reply (the server closes the connection); fails on a 15 s silence."""
    s.settimeout(15)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except TimeoutError:
        pytest.fail(f"no reply within 15 s (got {data!r})")
    except ConnectionResetError:
        pass
    assert data.startswith(b"HTTP/1.1 "), data
    return int(data.split()[1]), data.partition(b"\r\n\r\n")[2]


def deliver(port: int, event_id: str) -> int:
    body = json.dumps({**P.bodies()[0][0], "id": event_id}).encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(head(len(body), body) + body)
        return read_reply(s)[0]


def stall(port: int, sent: bytes = b"") -> socket.socket:
    """A client that sends its headers (and ``sent`` of a 500-byte body), then nothing."""
    body = b"{" + b" " * 499
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(head(len(body), body, close=False) + sent)
    return s


def test_asgi_a_sender_silent_after_its_headers_gets_408(uvicorn_port: int) -> None:
    """Row 6: headers, then not one body byte: 408 after body_timeout (the first receive is timed too)."""
    with stall(uvicorn_port) as s:
        status, body = read_reply(s)
    assert (status, json.loads(body)["error"]) == (408, "body_timeout")
    assert deliver(uvicorn_port, "after-silent") == 200


def test_wsgi_slow_senders_get_408_and_free_the_only_worker(gunicorn_port: int) -> None:
    """Row 8: under gunicorn -w1 (sync), senders that stop mid-body get 408 after body_timeout, one
    after the other, and the worker is free again for the next delivery (no WORKER TIMEOUT)."""
    clients = [stall(gunicorn_port, b"{  ") for _ in range(3)]
    try:
        for s in clients:
            status, body = read_reply(s)
            assert (status, json.loads(body)["error"]) == (408, "body_timeout")
    finally:
        for s in clients:
            s.close()
    assert deliver(gunicorn_port, "after-slow") == 200


def test_wsgi_a_sender_hanging_up_mid_body_gets_400_and_one_info_line(gunicorn_port: int, app_dir: Path) -> None:
    """Row 15: fewer bytes than Content-Length, then the client closes: 400, one INFO line, no traceback."""
    with stall(gunicorn_port, b"{ ") as s:
        s.shutdown(socket.SHUT_WR)
        status, body = read_reply(s)
    assert (status, json.loads(body)["error"]) == (400, "client_disconnected")
    assert deliver(gunicorn_port, "after-hangup") == 200
    log = (app_dir / "server.log").read_text()
    assert log.count("INFO hookinbox: client went away") == 1, log
    assert "Traceback" not in log, log


def test_wsgi_a_chunked_body_of_exactly_max_body_is_accepted(gunicorn_port: int) -> None:
    """Row 7: the limit is inclusive on every path: a chunked body of exactly max_body bytes gets 200,
    one byte more gets 413."""
    base = json.dumps({**P.bodies()[0][0], "id": "exact", "pad": ""}).encode()
    exact = base[:-2] + b"x" * (MAX_BODY - len(base)) + b'"}'
    assert len(exact) == MAX_BODY

    def chunked(body: bytes) -> int:
        with socket.create_connection(("127.0.0.1", gunicorn_port)) as s:
            s.sendall(head(None, body, chunked=True) + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            return read_reply(s)[0]

    assert chunked(exact) == 200
    over = exact[:-2] + b'x"}'
    assert chunked(over) == 413
