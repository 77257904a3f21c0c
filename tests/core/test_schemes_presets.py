"""The public-provider presets, rotation in settings, header-based ids, and hookinbox.testing's signing helpers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookinbox.core import receive
from hookinbox.drive import run_sync
from hookinbox.envelope import Envelope
from hookinbox.errors import AuthenticationFailed, MalformedPayload
from hookinbox.inbox import Inbox
from hookinbox.presets import PRESETS
from hookinbox.settings import Settings
from hookinbox.testing import encode, sign, signed_delivery

NOW = 1_700_000_000.0
SECRETS = {
    "standard-webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "svix": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "stripe": "whsec_test_secret",
    "github": "It's a Secret to Everybody",
    "shopify": "shopify-client-secret",
    "slack": "8f742231b10e8888abcd99yyyzzz85a5",
}


def settings(**endpoint_extra: Any) -> Settings:
    return Settings.from_dict(
        {
            "endpoints": {
                name: {"path": f"/hooks/{name}", "preset": name, "secret": secret, **endpoint_extra.get(name, {})}
                for name, secret in SECRETS.items()
            }
        }
    )


@pytest.mark.parametrize("name", SECRETS)
def test_preset_samples_sign_verify_and_map(name: str) -> None:
    """Every sample of every new preset, signed by hookinbox.testing, verifies and yields its id and type."""
    s = settings()
    ep = s.endpoints[name]
    preset = PRESETS[name]
    assert preset.samples and preset.ack_budget > 0 and preset.secret_env
    for payload in preset.samples:
        d = signed_delivery(name, payload, settings=s, now=NOW)
        ep.verifier.verify(d.headers, d.body, NOW)
        parsed = json.loads(d.body)
        event_type = ep.envelope.event_type(parsed, d.headers)
        assert event_type == preset.event_type_of(payload)
        assert ep.envelope.event_id(parsed, d.headers, d.body, event_type)


def test_header_based_presets_read_id_and_type_from_headers() -> None:
    """GitHub's id is X-GitHub-Delivery and its type X-GitHub-Event; Shopify's are its webhook id and topic."""
    s = settings()
    gh = PRESETS["github"]
    d = signed_delivery("github", gh.samples[1], settings=s, now=NOW)
    mapping = s.endpoints["github"].envelope
    assert mapping.event_type({}, d.headers) == "push"
    assert mapping.event_id({}, d.headers, d.body, "push") == "8f2e6b1c-3a5d-11ee-9a6b-0242ac120002"
    sh = signed_delivery("shopify", {"id": 1}, settings=s, now=NOW, event_type="orders/paid", event_id="wh-1")
    assert sh.headers["x-shopify-topic"] == "orders/paid" and sh.headers["x-shopify-webhook-id"] == "wh-1"
    with pytest.raises(ValueError, match="event_type"):
        signed_delivery("github", {"zen": "x"}, settings=s)


def test_header_id_is_derived_from_the_body_unless_given() -> None:
    """Without event_id, the same payload gets the same header id (a resend is a duplicate); different ones differ."""
    s = settings()
    a1 = signed_delivery("github", {"n": 1}, settings=s, event_type="push")
    a2 = signed_delivery("github", {"n": 1}, settings=s, event_type="push")
    b = signed_delivery("github", {"n": 2}, settings=s, event_type="push")
    assert a1.headers["x-github-delivery"] == a2.headers["x-github-delivery"] != b.headers["x-github-delivery"]


def test_standard_webhooks_event_id_is_the_signed_webhook_id() -> None:
    """Choosing event_id for Standard Webhooks re-signs with that id, which becomes the event id."""
    s = settings()
    d = signed_delivery(
        "standard-webhooks", PRESETS["standard-webhooks"].samples[0], settings=s, event_id="msg_x", now=NOW
    )
    s.endpoints["standard-webhooks"].verifier.verify(d.headers, d.body, NOW)
    assert s.endpoints["standard-webhooks"].envelope.event_id({}, d.headers, d.body, "t") == "msg_x"


def test_svix_headers_map_under_either_preset() -> None:
    """svix-* and webhook-* spellings both give the event id, whichever of the two presets is used."""
    s = settings()
    for name in ("svix", "standard-webhooks"):
        d = signed_delivery(name, {"type": "a.b", "data": {}}, settings=s, now=NOW)
        for other in ("svix", "standard-webhooks"):
            ep = s.endpoints[other]
            ep.verifier.verify(d.headers, d.body, NOW)
            assert ep.envelope.event_id({}, d.headers, d.body, "a.b").startswith("msg_")


def test_rotation_and_tolerance_through_settings() -> None:
    """secrets = [new, old] and verify.tolerance reach the verifier from the settings file shape."""
    s = settings()
    rotated = Settings.from_dict(
        {
            "endpoints": {
                "stripe": {
                    "path": "/s",
                    "preset": "stripe",
                    "secrets": ["whsec_new", "whsec_old"],
                    "verify": {"tolerance": "1m"},
                }
            }
        }
    )
    ep = rotated.endpoints["stripe"]
    old_signer = Settings.from_dict({"endpoints": {"s": {"path": "/s", "preset": "stripe", "secret": "whsec_old"}}})
    headers = sign("s", b"{}", settings=old_signer, now=NOW)
    ep.verifier.verify(headers, b"{}", NOW + 59)
    with pytest.raises(AuthenticationFailed, match="tolerance"):
        ep.verifier.verify(headers, b"{}", NOW + 61)
    assert s.endpoints["stripe"].verifier.headers_for(b"{}", NOW)  # default settings still sign


def test_event_mapping_accepts_a_list_of_id_headers() -> None:
    """id_header = "svix-id, webhook-id" takes the first header present; none present is a 400."""
    mapping = Envelope.from_options({"id_header": "Svix-Id, Webhook-Id", "type": "type"}, "e")
    assert mapping.event_id({}, {"webhook-id": "w1"}, b"", "t") == "w1"
    assert mapping.event_id({}, {"svix-id": "s1", "webhook-id": "w1"}, b"", "t") == "s1"
    with pytest.raises(MalformedPayload, match="missing event id"):
        mapping.event_id({}, {}, b"", "t")


def test_encode_and_sign_use_the_endpoint_verifier() -> None:
    """encode() makes compact JSON; sign() returns exactly the verifier's headers_for."""
    s = settings()
    assert encode({"a": 1}) == b'{"a":1}' and encode("x") == b"x" and encode(b"y") == b"y"
    assert sign("slack", {"a": 1}, settings=s, now=NOW) == s.endpoints["slack"].verifier.headers_for(b'{"a":1}', NOW)
    with pytest.raises(KeyError, match="no endpoint"):
        sign("nope", {}, settings=s)


def test_slack_url_verification_is_answered_with_the_challenge() -> None:
    """A signed url_verification gets 200 with its challenge and is not recorded; unsigned gets 401."""
    inbox = Inbox(settings(), clock=lambda: NOW)
    ep = inbox.endpoints["slack"]
    body = encode(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    )
    headers = sign("slack", body, inbox=inbox)
    reply = run_sync(receive(inbox, ep, headers, body, None))  # type: ignore[arg-type]
    assert reply.status == 200
    assert json.loads(reply.body) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert list(inbox.store.list(limit=10)) == []
    tampered = run_sync(receive(inbox, ep, headers, body + b" ", None))  # type: ignore[arg-type]
    assert tampered.status == 401


def test_testing_module_imports_no_http_library() -> None:
    """hookinbox.testing and every verifier import without httpx, werkzeug or any framework."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import hookinbox

    code = (
        "import sys, hookinbox.testing, hookinbox.verifiers;"
        " print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " {'httpx', 'werkzeug', 'starlette', 'flask', 'django', 'pytest', 'stripe', 'svix', 'standardwebhooks'}))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(hookinbox.__file__).resolve().parent.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"
