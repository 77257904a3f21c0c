"""Per-tenant secrets: a resolver chooses the secrets per sending account; two tenants, rotation, failures."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from hookinbox import ConfigurationError, Inbox
from hookinbox.verifiers.tenant import TenantVerifier
from tests.toolkit import Clock

SHOPS = {"acme.myshopify.com": ["acme-secret"], "zeta.myshopify.com": ["zeta-secret"]}
CALLS: list[tuple[str | None, dict[str, str]]] = []


def for_shop(headers: Mapping[str, str], tenant: str | None) -> list[str] | None:
    """The resolver the settings name by reference (module:function)."""
    CALLS.append((tenant, dict(headers)))
    return SHOPS.get(tenant or "")


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()
    SHOPS.clear()
    SHOPS.update({"acme.myshopify.com": ["acme-secret"], "zeta.myshopify.com": ["zeta-secret"]})


def shopify_inbox(resolver: Any = "tests.core.test_tenant_secrets:for_shop", **endpoint: Any) -> tuple[Inbox, Clock]:
    clock = Clock(1_800_000_000.0)
    settings = {
        "hookinbox": {"store": "memory://"},
        "endpoints": {"shopify": {"path": "/webhooks/shopify", "preset": "shopify", "secret_resolver": resolver, **endpoint}},
    }
    return Inbox.from_settings(settings, clock=clock), clock


def shopify_delivery(ib: Inbox, shop: str, secret: str, n: int = 1) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"id": n, "shop": shop}).encode()
    ep = ib.endpoints["shopify"]
    assert isinstance(ep.verifier, TenantVerifier)
    headers = ep.verifier.for_secrets([secret]).headers_for(body, 0)
    headers.update(
        {"x-shopify-shop-domain": shop, "x-shopify-webhook-id": f"{shop}-{n}", "x-shopify-topic": "orders/create"}
    )
    return headers, body


def post(ib: Inbox, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
    reply = ib.receive(ib.endpoints["shopify"], headers, body)
    return reply.status, json.loads(reply.body), dict(reply.headers)


def test_two_tenants_each_verified_with_its_own_secret() -> None:
    """acme's delivery verifies with acme's secret only, zeta's with zeta's; the resolver got the shop domain."""
    ib, _ = shopify_inbox()
    assert post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-secret"))[0] == 200
    assert post(ib, *shopify_delivery(ib, "zeta.myshopify.com", "zeta-secret"))[0] == 200
    # acme's secret does not open zeta's door, even though the attacker names zeta
    status, body, _ = post(ib, *shopify_delivery(ib, "zeta.myshopify.com", "acme-secret", n=2))
    assert (status, body["error"]) == (401, "unauthorized")
    assert ib.store.get("shopify", "zeta.myshopify.com-2") is None
    assert [t for t, _ in CALLS] == ["acme.myshopify.com", "zeta.myshopify.com"]  # zeta's verifier was cached
    assert CALLS[0][1]["x-shopify-topic"] == "orders/create"  # lower-cased headers are passed


def test_rotation_accepts_the_new_and_the_old_secret_until_the_old_is_dropped() -> None:
    """Resolver returns [new, old]: both sign; once it returns [new] (after the TTL) the old one is refused."""
    ib, clock = shopify_inbox(secret_cache_ttl="60s")
    SHOPS["acme.myshopify.com"] = ["acme-new", "acme-old"]
    assert post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-old", n=1))[0] == 200
    assert post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-new", n=2))[0] == 200
    SHOPS["acme.myshopify.com"] = ["acme-new"]
    assert post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-old", n=3))[0] == 200  # still cached
    clock.now += 61
    assert post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-old", n=4))[0] == 401
    assert post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-new", n=5))[0] == 200
    assert [t for t, _ in CALLS] == ["acme.myshopify.com", "acme.myshopify.com"]  # once per TTL


def test_forget_drops_a_tenants_cached_secrets_at_once() -> None:
    """verifier.forget(tenant) makes the next delivery ask the resolver again (after a rotation)."""
    ib, _ = shopify_inbox()
    assert post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-secret"))[0] == 200
    SHOPS["acme.myshopify.com"] = ["acme-rotated"]
    verifier = ib.endpoints["shopify"].verifier
    assert isinstance(verifier, TenantVerifier)
    verifier.forget("acme.myshopify.com")
    assert post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-secret", n=2))[0] == 401
    assert post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-rotated", n=3))[0] == 200


def test_an_unknown_tenant_is_401_and_not_cached() -> None:
    """None from the resolver → 401; a shop installed a moment later is accepted at once."""
    ib, _ = shopify_inbox()
    status, body, _ = post(ib, *shopify_delivery(ib, "new.myshopify.com", "new-secret"))
    assert (status, body["error"]) == (401, "unauthorized")
    SHOPS["new.myshopify.com"] = ["new-secret"]
    assert post(ib, *shopify_delivery(ib, "new.myshopify.com", "new-secret", n=2))[0] == 200
    assert [t for t, _ in CALLS] == ["new.myshopify.com", "new.myshopify.com"]


def test_a_resolver_that_raises_is_503_with_retry_after_and_a_retry_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    """The secret store is down: 503 + Retry-After, nothing recorded, the message (maybe a secret) not logged."""
    down = {"yes": True}

    def flaky(headers: Mapping[str, str], tenant: str | None) -> str:
        if down["yes"]:
            raise ConnectionError("vault at https://user:hunter2@vault unreachable")
        return "acme-secret"

    ib, _ = shopify_inbox(flaky)
    delivery = shopify_delivery(ib, "acme.myshopify.com", "acme-secret")
    with caplog.at_level(logging.DEBUG, logger="hookinbox"):
        status, body, headers = post(ib, *delivery)
    assert (status, body["error"]) == (503, "secret_unavailable") and headers["retry-after"] == "5"
    assert ib.store.get("shopify", "acme.myshopify.com-1") is None
    assert "ConnectionError" in caplog.text and "hunter2" not in caplog.text
    down["yes"] = False
    assert post(ib, *delivery)[0] == 200  # the sender's retry


def test_the_resolved_secret_is_never_logged_nor_stored(caplog: pytest.LogCaptureFixture) -> None:
    """Accepted, refused and unknown deliveries at DEBUG: no secret in the logs or the stored headers."""
    ib, _ = shopify_inbox()
    with caplog.at_level(logging.DEBUG):
        post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-secret"))
        post(ib, *shopify_delivery(ib, "acme.myshopify.com", "zeta-secret", n=2))
        post(ib, *shopify_delivery(ib, "nobody.myshopify.com", "x", n=3))
    assert "acme-secret" not in caplog.text and "zeta-secret" not in caplog.text
    stored = ib.store.get("shopify", "acme.myshopify.com-1")
    assert stored is not None and "acme-secret" not in json.dumps(stored.headers)


def test_an_async_resolver_is_awaited_on_the_loop_and_also_works_from_sync_code() -> None:
    """async def resolvers: awaited by areceive (ASGI), run on a private loop by receive (WSGI)."""
    seen: list[str | None] = []

    async def lookup(headers: Mapping[str, str], tenant: str | None) -> list[str] | None:
        await asyncio.sleep(0)
        seen.append(tenant)
        return SHOPS.get(tenant or "")

    ib, _ = shopify_inbox(lookup)
    headers, body = shopify_delivery(ib, "acme.myshopify.com", "acme-secret")
    reply = asyncio.run(ib.areceive(ib.endpoints["shopify"], headers, body))
    assert reply.status == 200
    assert post(ib, *shopify_delivery(ib, "zeta.myshopify.com", "zeta-secret"))[0] == 200
    assert seen == ["acme.myshopify.com", "zeta.myshopify.com"]


def test_a_missing_shop_header_gives_the_resolver_none() -> None:
    """No X-Shopify-Shop-Domain: tenant None; the resolver decides (here: unknown → 401)."""
    ib, _ = shopify_inbox()
    headers, body = shopify_delivery(ib, "acme.myshopify.com", "acme-secret")
    del headers["x-shopify-shop-domain"]
    assert post(ib, headers, body)[0] == 401
    assert CALLS[0][0] is None


def test_stripe_connect_account_from_the_body_chooses_the_secret() -> None:
    """scheme stripe: the top-level `account` (unverified) is the tenant; an event without it gets None."""
    secrets = {"acct_1": "whsec_one", "acct_2": "whsec_two", None: "whsec_platform"}
    asked: list[str | None] = []

    def for_account(headers: Mapping[str, str], tenant: str | None) -> str | None:
        asked.append(tenant)
        return secrets.get(tenant)

    ib = Inbox.from_settings(
        {"endpoints": {"stripe": {"path": "/webhooks/stripe", "preset": "stripe", "secret_resolver": for_account}}}
    )
    ep = ib.endpoints["stripe"]
    assert isinstance(ep.verifier, TenantVerifier)
    now = ib.runtime.clock()

    def send(event: dict[str, Any], secret: str) -> int:
        body = json.dumps(event).encode()
        return ib.receive(ep, ep.verifier.for_secrets([secret]).headers_for(body, now), body).status  # type: ignore[union-attr]

    base = {"object": "event", "type": "account.updated", "created": int(now), "data": {"object": {"account": "acct_2"}}}
    assert send({**base, "id": "evt_1", "account": "acct_1"}, "whsec_one") == 200
    assert send({**base, "id": "evt_2", "account": "acct_2"}, "whsec_one") == 401  # acct_1's secret, acct_2 named
    assert send({**base, "id": "evt_3"}, "whsec_platform") == 200  # nested `account` is not the tenant
    assert asked == ["acct_1", "acct_2", None]


def test_tenant_header_names_the_tenant_for_any_scheme() -> None:
    """A custom HMAC scheme with tenant_header = "X-Tenant": the header's value keys resolver and cache."""
    asked: list[str | None] = []

    def by_tenant(headers: Mapping[str, str], tenant: str | None) -> str | None:
        asked.append(tenant)
        return {"t1": "s1", "t2": "s2"}.get(tenant or "")

    ib = Inbox.from_settings(
        {
            "endpoints": {
                "custom": {
                    "path": "/hooks",
                    "verify": {"scheme": "hmac-sha256", "header": "X-Sig"},
                    "secret_resolver": by_tenant,
                    "tenant_header": "X-Tenant",
                }
            }
        }
    )
    ep = ib.endpoints["custom"]
    assert isinstance(ep.verifier, TenantVerifier)
    for n, (tenant, secret, want) in enumerate([("t1", "s1", 200), ("t2", "s2", 200), ("t2", "s1", 401), ("t1", "s1", 200)]):
        body = json.dumps({"id": f"e{n}", "type": "x", "data": {}}).encode()
        headers = {**ep.verifier.for_secrets([secret]).headers_for(body, 0), "x-tenant": tenant}
        assert ib.receive(ep, headers, body).status == want
    assert asked == ["t1", "t2"]


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ({"secret": "s", "secret_resolver": "m:f"}, r"endpoints\.shop\.secret: give either a secret or a secret_resolver"),
        ({"secret_resolver": "no-colon"}, r"endpoints\.shop\.secret_resolver: expected \"module:function\""),
        ({"secret": "s", "secret_cache_ttl": "1m"}, r"endpoints\.shop\.secret_cache_ttl: only with secret_resolver"),
        ({"secret_resolver": "m:f", "secret_cache_ttl": "soon"}, r"endpoints\.shop\.secret_cache_ttl: "),
        ({"secret_resolver": "m:f", "verify": {"scheme": "shopify", "tolerance": "5m"}}, r"unknown option\(s\) tolerance"),
    ],
)
def test_settings_mistakes_name_their_key(endpoint: dict[str, Any], message: str) -> None:
    """Both a secret and a resolver, a bad reference or TTL, a TTL without a resolver, bad scheme options."""
    with pytest.raises(ConfigurationError, match=message):
        Inbox.from_settings({"endpoints": {"shop": {"path": "/s", "preset": "shopify", **endpoint}}})


def test_a_resolver_that_cannot_be_imported_fails_loudly_at_first_use() -> None:
    """The reference is imported lazily (Django models may not be ready at settings time); then it names the key."""
    ib, _ = shopify_inbox("tests.core.nowhere:for_shop")
    with pytest.raises(ConfigurationError, match=r"endpoints\.shopify\.secret_resolver"):
        post(ib, *shopify_delivery(ib, "acme.myshopify.com", "acme-secret"))


def test_signing_needs_a_chosen_secret() -> None:
    """headers_for on a resolver endpoint says how to sign (for_secrets) instead of guessing a secret."""
    ib, _ = shopify_inbox()
    with pytest.raises(ConfigurationError, match="for_secrets"):
        ib.endpoints["shopify"].verifier.headers_for(b"{}", 0)


def test_a_bare_prefix_from_the_resolver_is_not_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    """A resolver returning "whsec_" (an empty variable after the prefix) is refused, not used as a key."""
    ib = Inbox.from_settings(
        {"endpoints": {"s": {"path": "/s", "preset": "stripe", "secret_resolver": lambda headers, tenant: ["whsec_"]}}}
    )
    ep = ib.endpoints["s"]
    assert isinstance(ep.verifier, TenantVerifier)
    body = b'{"id": "evt_1", "type": "x", "object": "event", "data": {"object": {}}}'
    headers = ep.verifier.for_secrets(["whsec_realsecret"]).headers_for(body, ib.runtime.clock())
    with caplog.at_level(logging.ERROR, logger="hookinbox"):
        assert ib.receive(ep, headers, body).status == 401
    assert "unusable secret" in caplog.text
