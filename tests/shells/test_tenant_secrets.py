"""Per-tenant secrets through both doors and every store: two shops, one rotating, one resolver down."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from hookinbox.verifiers.tenant import TenantVerifier

from .conftest import Harness, make_harness

SECRETS: dict[str, list[str]] = {}
STATE = {"down": False}


async def for_shop(headers: Mapping[str, str], tenant: str | None) -> list[str] | None:
    """An async resolver (a database or vault lookup)."""
    if STATE["down"]:
        raise TimeoutError("secret store timed out")
    return SECRETS.get(tenant or "")


@pytest.fixture
def tenant_harness(shell: str, store_config: tuple[str, dict[str, Any]]) -> Iterator[Harness]:
    SECRETS.clear()
    SECRETS.update({"acme.myshopify.com": ["acme-new", "acme-old"], "zeta.myshopify.com": ["zeta"]})
    STATE["down"] = False
    url, options = store_config
    settings = {
        "hookinbox": {"store": url, "store_options": options, "sweep_interval": "50ms"},
        "endpoints": {
            "shopify": {
                "path": "/webhooks/shopify",
                "preset": "shopify",
                "secret_resolver": "tests.shells.test_tenant_secrets:for_shop",
                "secret_cache_ttl": "0s",  # ask every time, so the test sees each answer
            }
        },
    }
    stack: list[Any] = []
    h = make_harness(shell, settings, stack)
    yield h
    for fn in reversed(stack):
        fn()
    h.inbox.close()


def send(h: Harness, shop: str, secret: str, n: int) -> Any:
    verifier = h.inbox.endpoints["shopify"].verifier
    assert isinstance(verifier, TenantVerifier)
    body = json.dumps({"id": n, "shop": shop}).encode()
    headers = {
        **verifier.for_secrets([secret]).headers_for(body, 0),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": f"{shop}-{n}",
        "X-Shopify-Topic": "orders/create",
        "Content-Type": "application/json",
    }
    return h.post("/webhooks/shopify", body, headers)


def test_two_shops_and_a_rotation_over_http(tenant_harness: Harness) -> None:
    """acme (rotating: [new, old]) and zeta each verify with their own secrets; a cross-signed one is 401."""
    h = tenant_harness
    assert send(h, "acme.myshopify.com", "acme-old", 1).status_code == 200
    assert send(h, "acme.myshopify.com", "acme-new", 2).status_code == 200
    assert send(h, "zeta.myshopify.com", "zeta", 3).status_code == 200
    assert send(h, "zeta.myshopify.com", "acme-new", 4).status_code == 401
    SECRETS["acme.myshopify.com"] = ["acme-new"]  # rotation finished
    assert send(h, "acme.myshopify.com", "acme-old", 5).status_code == 401
    assert send(h, "unknown.myshopify.com", "x", 6).status_code == 401
    events = h.recorder.wait_for(3)
    assert sorted(e.id for e in events) == ["acme.myshopify.com-1", "acme.myshopify.com-2", "zeta.myshopify.com-3"]
    assert events[0].headers["x-shopify-shop-domain"] in SECRETS


def test_resolver_down_is_503_then_the_retry_is_accepted(tenant_harness: Harness) -> None:
    """The async resolver raises: 503 + Retry-After and nothing recorded; the sender's retry gets 200."""
    h = tenant_harness
    STATE["down"] = True
    resp = send(h, "acme.myshopify.com", "acme-new", 1)
    assert resp.status_code == 503 and resp.headers["retry-after"] == "5"
    assert resp.json()["error"] == "secret_unavailable"
    assert h.inbox.store.get("shopify", "acme.myshopify.com-1") is None
    STATE["down"] = False
    assert send(h, "acme.myshopify.com", "acme-new", 1).status_code == 200
    assert [e.id for e in h.recorder.wait_for(1)] == ["acme.myshopify.com-1"]
