"""Helpers for the store tests: an inbox on the parametrized store, signed deliveries, polling."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hookinbox.inbox import Inbox
from tests.seeds import PROVIDERS, settings_dict

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = PROVIDERS[0]  # nimbus-orders: the event id comes from the payload
PAYLOAD, BODY = PROVIDER.bodies()[0]
EVENT_ID = PROVIDER.expected_id(PAYLOAD, BODY)


def inbox_for(store_url: tuple[str, dict[str, Any]], **settings: Any) -> Inbox:
    url, options = store_url
    return Inbox.from_settings(settings_dict(store=url, store_options=dict(options), **settings))


def wsgi_deliver(app: Any, body: bytes = BODY) -> tuple[int, dict[str, str], dict[str, Any]]:
    """POST one signed delivery to a WSGI app; (status, headers, json body)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PROVIDER.path,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
    }
    for k, v in PROVIDER.headers(body).items():
        if k.lower() != "content-type":
            environ["HTTP_" + k.upper().replace("-", "_")] = v
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = {k.lower(): v for k, v in headers}

    out = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], json.loads(out)


async def asgi_deliver(app: Any, body: bytes = BODY) -> tuple[int, dict[str, str], dict[str, Any]]:
    """POST one signed delivery to an ASGI app; (status, headers, json body)."""
    headers = [(k.lower().encode(), v.encode()) for k, v in PROVIDER.headers(body).items()]
    headers.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "method": "POST", "path": PROVIDER.path, "headers": headers, "query_string": b""}
    sent = False
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = messages[0]
    hdrs = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], hdrs, json.loads(messages[1]["body"])


def wait_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def spawn_worker(config: dict[str, Any]) -> subprocess.Popen[str]:
    """Start tests/stores/_worker.py in its own process with ``config``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_worker.py")), json.dumps(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def via(url: str, port: int) -> str:
    """``url`` with its host and port replaced by ``127.0.0.1:port`` (a :class:`TcpProxy`)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=(auth + "@" if auth else "") + f"127.0.0.1:{port}"))


def signed_body(event_id: str) -> bytes:
    """A provider payload with another event id."""
    return json.dumps({**PAYLOAD, "id": event_id}).encode()


class TcpProxy:
    """A tiny TCP forwarder in front of a shared server, so a test can cut it off without stopping it."""

    def __init__(self, host: str, port: int) -> None:
        import socket

        self.target = (host, port)
        self._socket = socket
        self._threading = threading
        self._conns: list[Any] = []
        self._listener: Any = None
        self._lock = threading.Lock()
        self._stopped = False
        self._flowing = threading.Event()  # cleared by hold(): bytes wait in the proxy
        self._flowing.set()
        self._dead: set[int] = set()  # ids of sockets black-holed by blackhole()
        self._swallow_new = False  # blackhole(): new connections too, until forward_new()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()

    def start(self) -> None:
        with self._lock:
            self._stopped = False
        s = self._socket.socket()
        s.setsockopt(self._socket.SOL_SOCKET, self._socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self._listener = s
        self._threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, listener: Any) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = self._socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:  # a connection accepted while stop() runs must not survive the cut
                if self._stopped:
                    self._cut([client, upstream])
                    continue
                self._conns += [client, upstream]
                if self._swallow_new:
                    self._dead.update((id(client), id(upstream)))
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: Any, dst: Any) -> None:
        try:
            while data := src.recv(65536):
                self._flowing.wait()
                if id(src) in self._dead:
                    continue  # black-holed: swallowed, never answered, never closed
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # shutdown() before close(): the pipe thread of the other direction is blocked in recv()
            # on one of these sockets, and a bare close() under a blocked recv() sends no FIN. The
            # server would then keep the session, its open transaction and its table locks (a DROP
            # TABLE in teardown waited 60 s on such a MariaDB session).
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def hold(self) -> None:
        """Keep the connections open but forward nothing: to its clients, the server is slow."""
        self._flowing.clear()

    def blackhole(self) -> None:
        """The open connections die silently (no FIN, no RST: a NAT drop, a failover): what is sent on
        them is swallowed and nothing comes back, forever. New connections too, until :meth:`forward_new`."""
        with self._lock:
            self._swallow_new = True
            self._dead.update(id(c) for c in self._conns)

    def forward_new(self) -> None:
        """New connections are forwarded again (the route is back); the black-holed ones stay dead."""
        with self._lock:
            self._swallow_new = False

    def resume(self) -> None:
        """Forward again, what was held first."""
        self._flowing.set()

    def stop(self) -> None:
        """Refuse new connections and cut every open one: to its clients, the server is down."""
        if self._listener is not None:
            try:
                self._listener.shutdown(self._socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            self._stopped = True
            conns, self._conns = self._conns, []
        self._cut(conns)

    def _cut(self, conns: list[Any]) -> None:
        for c in conns:
            try:
                c.shutdown(self._socket.SHUT_RDWR)  # sends FIN now, even while a pipe thread is in recv()
            except OSError:
                pass
            c.close()
