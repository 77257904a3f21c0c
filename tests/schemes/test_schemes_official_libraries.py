"""Cross-checks with the providers' own signing libraries: signed by them, verified by us (and the reverse)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from hookinbox.errors import AuthenticationFailed
from hookinbox.verifiers import Verifier, build_verifier
from tests.conftest import require_module

standardwebhooks = require_module("standardwebhooks")
svix_webhooks = require_module("svix.webhooks")
stripe = require_module("stripe")

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
BODY = json.dumps({"type": "invoice.paid", "data": {"id": "in_1", "amount": 2000}}).encode()
NOW = 1_700_000_000


def ours(scheme: str, *secrets: str) -> Verifier:
    return build_verifier({"scheme": scheme, "secrets": list(secrets)}, "endpoints.t.verify")


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


# -- Standard Webhooks (the `standardwebhooks` reference library) ------------------------------


def sw_headers(secret: str, msg_id: str, ts: int, body: bytes = BODY) -> dict[str, str]:
    signature = standardwebhooks.Webhook(secret).sign(msg_id, at(ts), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_standardwebhooks_library_signs_we_verify() -> None:
    """A delivery signed by the reference library verifies."""
    ours("standard-webhooks", SECRET).verify(sw_headers(SECRET, "msg_1", NOW), BODY, NOW)


def test_standardwebhooks_rejections_match_the_library() -> None:
    """Tampered body, wrong secret, stale and future deliveries: refused by both the library and us."""
    v = ours("standard-webhooks", SECRET)
    lib = standardwebhooks.Webhook(SECRET)
    now = int(time.time())  # the library reads the real clock
    cases = [
        (sw_headers(SECRET, "msg_1", now), BODY + b" "),
        (sw_headers(OTHER, "msg_1", now), BODY),
        (sw_headers(SECRET, "msg_1", now - 400), BODY),
        (sw_headers(SECRET, "msg_1", now + 400), BODY),
    ]
    for headers, body in cases:
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            lib.verify(body, headers)
        with pytest.raises(AuthenticationFailed):
            v.verify(headers, body, float(now))


def test_standardwebhooks_rotation_and_several_signatures() -> None:
    """Our [new, old] secrets accept either; a header carrying both libraries' signatures verifies too."""
    v = ours("standard-webhooks", OTHER, SECRET)
    v.verify(sw_headers(SECRET, "msg_r", NOW), BODY, NOW)
    v.verify(sw_headers(OTHER, "msg_r", NOW), BODY, NOW)
    both = (
        sw_headers(OTHER, "msg_r", NOW)["webhook-signature"]
        + " "
        + sw_headers(SECRET, "msg_r", NOW)["webhook-signature"]
    )
    ours("standard-webhooks", SECRET).verify({**sw_headers(SECRET, "msg_r", NOW), "webhook-signature": both}, BODY, NOW)


def test_we_sign_the_standardwebhooks_library_verifies() -> None:
    """headers_for produces what the reference library accepts."""
    headers = ours("standard-webhooks", SECRET).headers_for(BODY, time.time())
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)


# -- Svix (the `svix` SDK) ---------------------------------------------------------------------


def svix_headers(secret: str, msg_id: str, ts: int, body: bytes = BODY) -> dict[str, str]:
    signature = svix_webhooks.Webhook(secret).sign(msg_id, at(ts), body.decode())
    return {"svix-id": msg_id, "svix-timestamp": str(ts), "svix-signature": signature}


def test_svix_sdk_signs_we_verify() -> None:
    """A delivery signed by the Svix SDK (svix-* headers) verifies under the svix scheme."""
    ours("svix", SECRET).verify(svix_headers(SECRET, "msg_2", NOW), BODY, NOW)


def test_svix_rejections_and_rotation() -> None:
    """Tampered, wrong-secret, stale and future Svix deliveries are refused; rotation accepts both secrets."""
    v = ours("svix", SECRET)
    for headers, body, now in [
        (svix_headers(SECRET, "m", NOW), BODY + b"x", NOW),
        (svix_headers(OTHER, "m", NOW), BODY, NOW),
        (svix_headers(SECRET, "m", NOW - 301), BODY, NOW),
        (svix_headers(SECRET, "m", NOW + 301), BODY, NOW),
    ]:
        with pytest.raises(AuthenticationFailed):
            v.verify(headers, body, float(now))
    ours("svix", OTHER, SECRET).verify(svix_headers(OTHER, "m", NOW), BODY, NOW)


def test_we_sign_the_svix_sdk_verifies() -> None:
    """Our svix-* headers are accepted by the Svix SDK."""
    headers = ours("svix", SECRET).headers_for(BODY, time.time())
    assert set(headers) == {"svix-id", "svix-timestamp", "svix-signature"}
    svix_webhooks.Webhook(SECRET).verify(BODY, headers)


# -- Stripe (the `stripe` SDK) -----------------------------------------------------------------

STRIPE_SECRET = "whsec_test_51Hh2b2KX8n3wQ"


def stripe_header(secret: str, ts: int, body: bytes = BODY) -> dict[str, str]:
    return {"stripe-signature": stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=ts)}


def test_stripe_sdk_signs_we_verify() -> None:
    """A Stripe-Signature generated by the Stripe SDK verifies."""
    ours("stripe", STRIPE_SECRET).verify(stripe_header(STRIPE_SECRET, NOW), BODY, NOW)


def test_stripe_rejections_match_the_sdk() -> None:
    """Tampered body, wrong secret, stale and future: refused by both stripe.Webhook and us."""
    v = ours("stripe", STRIPE_SECRET)
    now = int(time.time())
    cases = [
        (stripe_header(STRIPE_SECRET, now), BODY + b" "),
        (stripe_header("whsec_other", now), BODY),
        (stripe_header(STRIPE_SECRET, now - 400), BODY),
    ]
    for headers, body in cases:
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.WebhookSignature.verify_header(
                body.decode(), headers["stripe-signature"], STRIPE_SECRET, tolerance=300
            )
        with pytest.raises(AuthenticationFailed):
            v.verify(headers, body, float(now))
    with pytest.raises(AuthenticationFailed, match="future"):
        v.verify(stripe_header(STRIPE_SECRET, now + 400), BODY, float(now))


def test_stripe_rotation_with_two_v1() -> None:
    """During a secret roll Stripe sends two v1 values; each of our secrets alone accepts the header."""
    old = stripe_header("whsec_old", NOW)["stripe-signature"]
    new_sig = stripe_header("whsec_new", NOW)["stripe-signature"].split(",")[1]
    header = {"stripe-signature": f"{old},{new_sig}"}
    for secret in ("whsec_old", "whsec_new"):
        ours("stripe", secret).verify(header, BODY, NOW)
        stripe.WebhookSignature.verify_header(BODY.decode(), header["stripe-signature"], secret, tolerance=None)
    ours("stripe", "whsec_new", "whsec_old").verify(stripe_header("whsec_old", NOW), BODY, NOW)


def test_we_sign_the_stripe_sdk_verifies() -> None:
    """Our Stripe-Signature is accepted by stripe.Webhook.construct_event."""
    headers = ours("stripe", STRIPE_SECRET).headers_for(BODY, time.time())
    event = stripe.Webhook.construct_event(BODY.decode(), headers["stripe-signature"], STRIPE_SECRET)
    assert event["type"] == "invoice.paid"
