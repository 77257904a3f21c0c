"""Stripe (https://docs.stripe.com/webhooks#verify-manually).

Options (``verify`` table)::

    scheme    = "stripe"
    secrets   = ["whsec_...", "whsec_..."]   # the endpoint's signing secrets, used as-is
    tolerance = "5m"                         # replay window around t=; false (or "off") turns it off,
                                             # as stripe-python's tolerance=None does (replays are still
                                             # caught by de-duplication on the event id)

``Stripe-Signature: t=<unix>,v1=<hex>,v1=<hex>,v0=<hex>``: the signed payload
is ``{t}.{body}``, HMAC-SHA256 keyed with the whole secret string (the
``whsec_`` prefix included, not base64-decoded), hex encoded. During a
secret roll Stripe sends one ``v1`` per active secret; any may match. ``v0``
(test-mode legacy) is ignored, as Stripe's libraries do.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from hookinbox.errors import AuthenticationFailed
from hookinbox.verifiers import Verifier, register_scheme
from hookinbox.verifiers._options import secret_list, take
from hookinbox.verifiers._signing import (
    DEFAULT_TOLERANCE,
    any_match,
    check_timestamp,
    decode_hex,
    parse_pairs,
    parse_timestamp,
    tolerance_option,
)

__all__ = ["StripeVerifier"]

_HEADER = "stripe-signature"


class StripeVerifier:
    """``Stripe-Signature: t=...,v1=...``, several ``v1`` accepted."""

    def __init__(self, *, secrets: list[bytes], tolerance: float = DEFAULT_TOLERANCE) -> None:
        self.secrets = list(secrets)
        self.tolerance = tolerance
        self.sensitive_headers: frozenset[str] = frozenset()

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        value = headers.get(_HEADER)
        if not value:
            raise AuthenticationFailed("missing Stripe-Signature header")
        pairs = parse_pairs(value)
        stamp = next((v for k, v in pairs if k == "t"), None)
        if stamp is None:
            raise AuthenticationFailed("no timestamp (t=) in Stripe-Signature")
        sent = parse_timestamp(stamp, "Stripe-Signature t=")
        candidates = [sig for k, v in pairs if k == "v1" and (sig := decode_hex(v)) is not None]
        if not candidates:
            raise AuthenticationFailed("no v1 signature in Stripe-Signature")
        if not any_match(self.secrets, stamp.encode() + b"." + body, candidates, hashlib.sha256):
            raise AuthenticationFailed("no v1 signature in Stripe-Signature matches")
        check_timestamp(sent, now, self.tolerance, "Stripe-Signature t=")

    def headers_for(self, body: bytes, now: float) -> dict[str, str]:
        stamp = str(int(now))
        sig = hmac.new(self.secrets[0], stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return {_HEADER: f"t={stamp},v1={sig}"}


@register_scheme("stripe")
def _stripe(options: dict[str, Any], key: str) -> Verifier:
    take(options, {"secrets", "tolerance"}, key)
    return StripeVerifier(secrets=secret_list(options, key), tolerance=tolerance_option(options, key, can_be_off=True))
