"""``hookinbox.verify(scheme, secret, body, headers)`` on the providers' published vectors; Shopify/Stripe options."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

import hookinbox
from hookinbox.errors import AuthenticationFailed, ConfigurationError
from hookinbox.verifiers import build_verifier

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_BODY = b'{"test": 2432232314}'
SW_HEADERS = {
    "Webhook-Id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "Webhook-Timestamp": "1614265330",
    "Webhook-Signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_HEADERS = {
    "X-Slack-Request-Timestamp": "1531420618",
    "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
}


def test_standard_webhooks_published_vector_with_mixed_case_headers() -> None:
    hookinbox.verify("standard-webhooks", SW_SECRET, SW_BODY, SW_HEADERS, now=1614265330.0)
    svix = {k.replace("Webhook", "Svix"): v for k, v in SW_HEADERS.items()}
    hookinbox.verify("svix", SW_SECRET, SW_BODY, svix, now=1614265330.0)


def test_github_published_vector() -> None:
    sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    hookinbox.verify("github", "It's a Secret to Everybody", b"Hello, World!", {"X-Hub-Signature-256": sig})
    with pytest.raises(AuthenticationFailed) as info:
        hookinbox.verify("github", "It's a Secret to Everybody", b"Hello, World?", {"X-Hub-Signature-256": sig})
    assert info.value.status == 401 and "does not match" in info.value.detail


def test_slack_published_vector_and_its_replay_window() -> None:
    hookinbox.verify("slack", SLACK_SECRET, SLACK_BODY, SLACK_HEADERS, now=1531420618.0 + 60)
    with pytest.raises(AuthenticationFailed, match="old, outside the 300 s tolerance"):
        hookinbox.verify("slack", SLACK_SECRET, SLACK_BODY, SLACK_HEADERS, now=1531420618.0 + 3600)
    hookinbox.verify("slack", SLACK_SECRET, SLACK_BODY, SLACK_HEADERS, now=1531420618.0 + 3600, tolerance="2h")


def test_headers_may_be_pairs_or_any_mapping_and_a_conflicting_repeat_is_refused() -> None:
    pairs = list(SW_HEADERS.items())
    hookinbox.verify("standard-webhooks", SW_SECRET, SW_BODY, pairs, now=1614265330.0)
    doubled = [*pairs, ("webhook-signature", "v1,AAAA")]
    with pytest.raises(AuthenticationFailed, match="header webhook-signature given more than once"):
        hookinbox.verify("standard-webhooks", SW_SECRET, SW_BODY, doubled, now=1614265330.0)


def test_a_preset_name_and_scheme_options_work() -> None:
    body = b'{"id": "1"}'
    sig = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    hookinbox.verify("cimplify", "k", body, {"X-Cimplify-Signature": sig})
    hookinbox.verify("hmac-sha256", ["old", "k"], body, {"X-Sig": sig}, header="X-Sig")
    hookinbox.verify("api-key", b"key-1", body, {"X-Token": "key-1"}, header="X-Token")


def test_configuration_mistakes_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown scheme 'strip'; did you mean 'stripe'"):
        hookinbox.verify("strip", "whsec_x", b"{}", {})
    with pytest.raises(ConfigurationError, match="only the prefix 'whsec_'"):
        hookinbox.verify("stripe", "whsec_", b"{}", {})
    with pytest.raises(TypeError, match="raw bytes"):
        hookinbox.verify("github", "s", "text", {})  # type: ignore[arg-type]


def stripe_header(secret: str, body: bytes, t: int) -> str:
    return f"t={t},v1=" + hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_stripe_tolerance_can_be_turned_off_as_the_official_library_allows() -> None:
    body = b'{"id": "evt_1", "type": "x"}'
    old = {"Stripe-Signature": stripe_header("whsec_k", body, 1_000_000)}
    with pytest.raises(AuthenticationFailed, match="tolerance"):
        hookinbox.verify("stripe", "whsec_k", body, old, now=2_000_000.0)
    for off in (False, "off"):
        hookinbox.verify("stripe", "whsec_k", body, old, now=2_000_000.0, tolerance=off)
    with pytest.raises(ConfigurationError):  # only where the provider's library allows it
        build_verifier({"scheme": "slack", "secrets": ["s"], "tolerance": "off"})


def test_shopify_can_require_the_headers_the_official_library_requires() -> None:
    body = b'{"id": 1}'
    sig = base64.b64encode(hmac.new(b"hush", body, hashlib.sha256).digest()).decode()
    bare = {"X-Shopify-Hmac-Sha256": sig}
    hookinbox.verify("shopify", "hush", body, bare)  # off by default: Shopify's docs only require the signature
    with pytest.raises(AuthenticationFailed, match="missing x-shopify-api-version header"):
        hookinbox.verify("shopify", "hush", body, bare, require_headers=True)
    full = {**bare, "X-Shopify-API-Version": "2025-01", "X-Shopify-Shop-Domain": "a.myshopify.com"}
    hookinbox.verify("shopify", "hush", body, full, require_headers=True)
    with pytest.raises(AuthenticationFailed, match="missing x-shopify-topic header"):
        hookinbox.verify("shopify", "hush", body, full, require_headers=["X-Shopify-Topic"])
    verifier = build_verifier({"scheme": "shopify", "secrets": ["hush"], "require_headers": True})
    signed = verifier.headers_for(body, 0)  # hookinbox send / testing sign with the required headers too
    verifier.verify(signed, body, 0)
    with pytest.raises(ConfigurationError, match="require_headers: expected true, false or a list"):
        build_verifier({"scheme": "shopify", "secrets": ["hush"], "require_headers": "yes"})
