"""One harness for both doors: the same tests run through the ASGI and the WSGI middleware."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from hookinbox import Event, Inbox
from tests.asgi_client import AsgiClient
from tests.conftest import require_module
from tests.seeds import settings_dict
from tests.toolkit import Clock, Response, wait_for


class Recorder:
    """A handler that remembers every event it was given."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.cond = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Event]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.events) >= n, timeout)
        assert ok, f"expected {n} handled events, got {len(self.events)}"
        return list(self.events)

    def ids(self) -> list[str]:
        with self.cond:
            return [e.id for e in self.events]


@dataclass
class Harness:
    shell: str
    inbox: Inbox
    recorder: Recorder
    clock: Clock
    post: Callable[..., Response]
    get: Callable[[str], Response]
    extra: dict[str, Any] = field(default_factory=dict)

    def wait_settled(self, n: int, timeout: float = 10.0) -> None:
        """Wait until n events are done/dead in the store (handlers finished and recorded)."""

        def settled() -> bool:
            stats = self.inbox.store.stats()
            return sum(c.get("done", 0) + c.get("dead", 0) for c in stats.values()) >= n

        try:
            wait_for(settled, timeout, f"{n} settled events")
        except AssertionError:
            raise AssertionError(f"not settled: {self.inbox.store.stats()}") from None


@pytest.fixture
def store_config(store_url: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The store the shell suites run on: every backend (memory, SQLite, PostgreSQL, MariaDB, Redis)."""
    return store_url


def _asgi_host() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.responses import Response as SResponse
    from starlette.routing import Route

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello from the host")

    async def echo(request: Request) -> SResponse:
        return SResponse(await request.body(), media_type="application/octet-stream")

    return Starlette(routes=[Route("/hello", hello), Route("/echo", echo, methods=["POST"])])


def _wsgi_host() -> Any:
    from flask import Flask, request

    app = Flask("host")

    @app.get("/hello")
    def hello() -> str:
        return "hello from the host"

    @app.post("/echo")
    def echo() -> bytes:
        return request.get_data()

    return app.wsgi_app


def make_harness(shell: str, settings: dict[str, Any], stack: list[Callable[[], None]]) -> Harness:
    clock = Clock()
    inbox = Inbox.from_settings(settings, clock=clock)
    recorder = Recorder()
    inbox.on("*")(recorder)
    extra: dict[str, Any] = {}
    if shell == "asgi":
        require_module("starlette")
        from hookinbox.asgi import WebhookMiddleware

        client = AsgiClient(WebhookMiddleware(_asgi_host(), inbox))  # runs the lifespan: starts the executor
        stack.append(client.close)
        extra["asgi_client"] = client

        def post(path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Response:
            r = client.request("POST", path, body, headers)
            return Response(r.status_code, r.headers, r.content)

        def get(path: str) -> Response:
            r = client.request("GET", path)
            return Response(r.status_code, r.headers, r.content)

    else:
        require_module("werkzeug")
        from werkzeug.test import Client

        from hookinbox.wsgi import WebhookMiddleware as WSGIMiddleware

        wclient = Client(WSGIMiddleware(_wsgi_host(), inbox))
        stack.append(lambda: inbox.shutdown(2.0))

        def post(path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Response:
            r = wclient.post(path, data=body, headers=headers or {})
            return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_data())

        def get(path: str) -> Response:
            r = wclient.get(path)
            return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_data())

    return Harness(shell, inbox, recorder, clock, post, get, extra)


@pytest.fixture(params=["asgi", "wsgi"])
def shell(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def harness_factory(store_config: tuple[str, dict[str, Any]]) -> Iterator[Callable[..., Harness]]:
    stack: list[Callable[[], None]] = []
    built: list[Harness] = []

    def factory(shell: str, **extra: Any) -> Harness:
        url, options = store_config
        settings = settings_dict(store=url, store_options=options, sweep_interval="50ms", **extra)
        h = make_harness(shell, settings, stack)
        built.append(h)
        return h

    yield factory
    for fn in reversed(stack):
        fn()
    for h in built:
        h.inbox.close()


@pytest.fixture
def harness(shell: str, harness_factory: Callable[..., Harness]) -> Harness:
    return harness_factory(shell)
