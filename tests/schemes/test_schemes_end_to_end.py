"""Each public-provider preset end to end through the ASGI middleware (httpx.ASGITransport), and once over WSGI."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from hookinbox.asgi import WebhookMiddleware
from hookinbox.events import Event, Status
from hookinbox.inbox import Inbox
from hookinbox.presets import PRESETS
from hookinbox.testing import WebhookClient, sign
from tests.conftest import require_module

httpx = require_module("httpx")

SECRETS = {
    "standard-webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "svix": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    "stripe": "whsec_test_secret",
    "github": "github-secret",
    "shopify": "shopify-client-secret",
    "slack": "8f742231b10e8888abcd99yyyzzz85a5",
}


def make_inbox() -> tuple[Inbox, list[tuple[str, str, str, Any]]]:
    inbox = Inbox.from_settings(
        {
            "hookinbox": {"sweep_interval": "50ms"},
            "endpoints": {
                name: {"path": f"/webhooks/{name}", "preset": name, "secrets": [secret, "an-older-secret"]}
                if name not in ("standard-webhooks", "svix")
                else {"path": f"/webhooks/{name}", "preset": name, "secret": secret}
                for name, secret in SECRETS.items()
            },
        }
    )
    seen: list[tuple[str, str, str, Any]] = []

    @inbox.on("*")
    def record(event: Event) -> None:
        seen.append((event.endpoint, event.id, event.type, event.data))

    return inbox, seen


@pytest.fixture
def asgi() -> Iterator[tuple[WebhookClient, list[tuple[str, str, str, Any]]]]:
    inbox, seen = make_inbox()
    with WebhookClient(WebhookMiddleware(None, inbox), inbox) as client:
        assert client.kind == "asgi"
        yield client, seen


@pytest.mark.parametrize("name", SECRETS)
def test_preset_end_to_end(asgi: tuple[WebhookClient, list[Any]], name: str) -> None:
    """200 and the handler runs once; the same delivery again is a duplicate; a tampered one is 401."""
    client, seen = asgi
    preset = PRESETS[name]
    sample = preset.samples[0]
    delivery = client.delivery(name, sample)
    first = client.send(delivery)
    assert first.status_code == 200, first.content
    assert first.json() == {"received": True}
    record = client.wait(delivery)
    assert record.status == Status.DONE
    assert [(e, t) for e, _, t, _ in seen] == [(name, preset.event_type_of(sample))]
    assert seen[0][1] == client.event_id(delivery) == record.id

    again = client.send(delivery)
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": True}
    tampered = client.send(delivery.tampered())
    assert tampered.status_code == 401 and tampered.json()["error"] == "unauthorized"
    client.process()  # nothing else is due
    assert len(seen) == 1


@pytest.mark.parametrize("name", ["standard-webhooks", "svix", "stripe", "slack"])
def test_stale_delivery_is_refused_over_http(asgi: tuple[WebhookClient, list[Any]], name: str) -> None:
    """A replay signed 10 minutes ago is answered 401 with a reason naming the tolerance."""
    client, seen = asgi
    stale = client.delivery(name, PRESETS[name].samples[0], now=client.inbox.clock() - 600)
    r = client.send(stale)
    assert r.status_code == 401 and "tolerance" in r.json()["detail"]
    assert seen == []


@pytest.mark.parametrize("name", ["github", "shopify", "stripe", "slack"])
def test_rotation_end_to_end(asgi: tuple[WebhookClient, list[Any]], name: str) -> None:
    """A delivery signed with the older of the two configured secrets is accepted."""
    client, _ = asgi
    old = Inbox.from_settings(
        {"endpoints": {name: {"path": f"/webhooks/{name}", "preset": name, "secret": "an-older-secret"}}}
    )
    delivery = client.delivery(name, PRESETS[name].samples[-1])
    signed_old = delivery.with_headers(**sign(name, delivery.body, inbox=old))
    assert client.send(signed_old).status_code == 200
    assert client.wait(signed_old).status == Status.DONE


def test_slack_url_verification_over_asgi() -> None:
    """Slack's url_verification, posted with httpx.ASGITransport, is answered with its challenge."""
    inbox, seen = make_inbox()
    app = WebhookMiddleware(None, inbox)
    body = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"}).encode()
    headers = {"content-type": "application/json", **sign("slack", body, inbox=inbox)}

    async def go() -> tuple[Any, Any]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            ok = await http.post("/webhooks/slack", content=body, headers=headers)
            forged = await http.post("/webhooks/slack", content=body, headers={**headers, "x-slack-signature": "v0=00"})
        await inbox.ashutdown()
        return ok, forged

    ok, forged = asyncio.run(go())
    assert ok.status_code == 200 and ok.json() == {"challenge": "abc123"}
    assert forged.status_code == 401
    assert seen == [] and inbox.store.list() == []


def test_slack_retry_is_a_duplicate_and_keeps_its_headers(asgi: tuple[WebhookClient, list[Any]]) -> None:
    """A Slack retry (X-Slack-Retry-Num) of an accepted event_id is answered 200 as a duplicate."""
    client, seen = asgi
    first = client.delivery("slack", PRESETS["slack"].samples[1])
    assert client.send(first).status_code == 200
    retry = client.delivery(
        "slack", PRESETS["slack"].samples[1], headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert client.send(retry).json() == {"received": True, "duplicate": True}
    record = client.wait(first)
    assert record.id == "Ev987XYZ654" and len(seen) == 1


def test_client_drives_a_wsgi_app() -> None:
    """Over WSGI (werkzeug test client) a GitHub ping is accepted, handled in the thread pool, then a duplicate."""
    require_module("werkzeug")
    from hookinbox.wsgi import WebhookMiddleware as WsgiMiddleware

    inbox, seen = make_inbox()
    with WebhookClient(WsgiMiddleware(None, inbox), inbox) as client:
        assert client.kind == "wsgi"
        delivery = client.delivery("github", PRESETS["github"].samples[0])
        assert client.send(delivery).status_code == 200
        assert client.wait(delivery).status == Status.DONE
        assert seen[0][1:3] == ("72d3162e-cc78-11e3-81ab-4c9367dc0958", "ping")
        assert client.send(delivery).json()["duplicate"] is True
        assert client.send(delivery.tampered()).status_code == 401
