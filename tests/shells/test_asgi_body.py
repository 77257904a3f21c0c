"""The ASGI middleware reads the body itself: chunks, limits, disconnects, lifespan."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from hookinbox import Inbox
from hookinbox.asgi import WebhookMiddleware
from tests.asgi_client import AsgiClient
from tests.seeds import PROVIDERS, settings_dict
from tests.toolkit import await_for

SHOP = PROVIDERS[4]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    ib = Inbox.from_settings(settings_dict(max_body="1KB"))
    yield ib
    ib.close()


def body_of(size: int) -> bytes:
    payload = SHOP.preset.sample()
    payload["data"]["pad"] = "x" * max(0, size - 200)
    return json.dumps(payload).encode()


def test_a_body_split_in_chunks_is_verified_whole(inbox: Inbox) -> None:
    """A body delivered in several http.request messages is reassembled before verification."""
    client = AsgiClient(WebhookMiddleware(None, inbox))
    try:
        body = body_of(500)
        chunks = [body[:100], body[100:300], body[300:]]
        r = client.request("POST", SHOP.path, chunks, SHOP.headers(body))
        assert r.status_code == 200
    finally:
        client.close()


def test_streamed_body_over_the_limit_stops_reading(inbox: Inbox) -> None:
    """Without Content-Length, a body that passes max_body is cut off with 413 at the limit."""
    client = AsgiClient(WebhookMiddleware(None, inbox))
    try:
        chunks = [b"x" * 600] * 10
        r = client.request("POST", SHOP.path, chunks, {"x-cimplify-signature": "00"}, content_length=False)
        assert r.status_code == 413
        assert r.receive_calls == 2  # 600 + 600 > 1000: nothing after the second chunk was read
    finally:
        client.close()


def test_declared_length_over_the_limit_is_refused_unread(inbox: Inbox) -> None:
    """A Content-Length over max_body is refused before a single body message is read."""
    client = AsgiClient(WebhookMiddleware(None, inbox))
    try:
        r = client.request("POST", SHOP.path, b"x" * 2000, {"x-cimplify-signature": "00"})
        assert r.status_code == 413 and r.receive_calls == 0
    finally:
        client.close()


def test_client_disconnect_mid_body_records_nothing(inbox: Inbox) -> None:
    """If the sender goes away mid-body, nothing is answered and nothing is recorded."""
    client = AsgiClient(WebhookMiddleware(None, inbox))
    try:
        body = body_of(500)
        r = client.request("POST", SHOP.path, [body[:100], body[100:]], SHOP.headers(body), disconnect_after=1)
        assert r.status_code == 0
        assert inbox.store.stats() == {}
    finally:
        client.close()


def test_invalid_content_length_is_400(inbox: Inbox) -> None:
    """A duplicated or garbled Content-Length ('7, 7') is a 400, not a silent empty body."""
    client = AsgiClient(WebhookMiddleware(None, inbox))
    try:
        r = client.request("POST", SHOP.path, b"{}", {"content-length": "7, 7"})
        assert r.status_code == 400
    finally:
        client.close()


def test_without_lifespan_the_executor_starts_on_first_delivery(inbox: Inbox) -> None:
    """A server running without lifespan still gets events handled (lazy start)."""
    seen: list[str] = []
    inbox.on("*")(lambda e: seen.append(e.id))
    client = AsgiClient(WebhookMiddleware(None, inbox), lifespan=False)
    try:
        body = body_of(300)
        assert client.request("POST", SHOP.path, body, SHOP.headers(body)).status_code == 200
        client.run(await_for(lambda: seen == ["evt_abc123"], what="the handler"))
    finally:
        client.run(inbox.ashutdown())
        client.close()


def test_other_scopes_pass_through(inbox: Inbox) -> None:
    """Non-HTTP scopes (websocket) go to the wrapped app untouched."""
    seen: list[str] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["type"])

    client = AsgiClient(WebhookMiddleware(app, inbox), lifespan=False)
    try:
        client.run(WebhookMiddleware(app, inbox)({"type": "websocket", "path": SHOP.path}, None, None))  # type: ignore[arg-type]
        assert seen == ["websocket"]
    finally:
        client.close()
