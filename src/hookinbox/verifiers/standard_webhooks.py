"""Standard Webhooks (https://www.standardwebhooks.com), as Svix and its users send.

Options (``verify`` table)::

    scheme    = "standard-webhooks"      # or "svix"
    secrets   = ["whsec_...", "whsec_..."]  # base64 after the whsec_ prefix; any one may match
    tolerance = "5m"                     # replay window around webhook-timestamp

A delivery carries three headers, ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (Svix also sends them as ``svix-id``,
``svix-timestamp`` and ``svix-signature``; both spellings are accepted by
both scheme names). The signed content is ``{id}.{timestamp}.{body}``, the
HMAC-SHA256 key is the base64-decoded secret, and ``webhook-signature`` holds
one or more space-separated ``v1,<base64>`` signatures (several while the
sender rotates its secret); other versions such as ``v1a`` (Ed25519) are
ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from hookinbox.errors import AuthenticationFailed, ConfigurationError
from hookinbox.verifiers import Verifier, register_scheme
from hookinbox.verifiers._options import secret_list, take
from hookinbox.verifiers._signing import (
    DEFAULT_TOLERANCE,
    any_match,
    check_timestamp,
    decode_base64,
    header_value,
    parse_pairs,
    parse_timestamp,
    tolerance_option,
)

__all__ = ["StandardWebhooksVerifier", "decode_secret"]

_PREFIX = "whsec_"


def decode_secret(secret: str | bytes) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the prefix is optional), as the official libraries do."""
    if isinstance(secret, bytes):
        secret = secret.decode("utf-8")
    if secret.startswith(_PREFIX):
        secret = secret[len(_PREFIX) :]
    secret = secret.strip().rstrip("=")
    try:  # the libraries accept unpadded secrets
        key = base64.b64decode(secret + "=" * (-len(secret) % 4), validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("not base64 after the whsec_ prefix") from None
    if not key:
        raise ValueError("empty after the whsec_ prefix")
    return key


class StandardWebhooksVerifier:
    """``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature: v1,<base64> ...``."""

    def __init__(
        self, *, keys: list[bytes], tolerance: float = DEFAULT_TOLERANCE, header_prefix: str = "webhook"
    ) -> None:
        self.keys = list(keys)
        self.tolerance = tolerance
        #: the spelling ``headers_for`` uses: "webhook" or "svix"
        self.header_prefix = header_prefix
        self.sensitive_headers: frozenset[str] = frozenset()

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        found = header_value(headers, "webhook-signature", "svix-signature")
        if found is None:
            raise AuthenticationFailed("missing webhook-signature header")
        sig_header, signatures = found
        prefix = sig_header.split("-", 1)[0]
        msg_id = headers.get(f"{prefix}-id")
        if not msg_id:
            raise AuthenticationFailed(f"missing {prefix}-id header")
        stamp_header = f"{prefix}-timestamp"
        stamp = headers.get(stamp_header)
        sent = parse_timestamp(stamp, stamp_header)
        candidates: list[bytes] = []
        for version, text in parse_pairs(signatures, " ", ","):
            sig = decode_base64(text) if version == "v1" else None
            if sig is not None:
                candidates.append(sig)
        if not candidates:
            raise AuthenticationFailed(f"no v1 signature in {sig_header}")
        message = f"{msg_id}.{(stamp or '').strip()}.".encode() + body
        if not any_match(self.keys, message, candidates, hashlib.sha256):
            raise AuthenticationFailed(f"no signature in {sig_header} matches")
        check_timestamp(sent, now, self.tolerance, stamp_header)

    def headers_for(self, body: bytes, now: float) -> dict[str, str]:
        """Signed headers; the message id is derived from the body, so a resend is a duplicate."""
        return self.headers_for_id(body, now, "msg_" + hashlib.sha256(body).hexdigest()[:24])

    def headers_for_id(self, body: bytes, now: float, msg_id: str) -> dict[str, str]:
        """Signed headers for a chosen message id (the id is part of the signed content)."""
        stamp = str(int(now))
        digest = hmac.new(self.keys[0], f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        p = self.header_prefix
        return {
            f"{p}-id": msg_id,
            f"{p}-timestamp": stamp,
            f"{p}-signature": "v1," + base64.b64encode(digest).decode(),
        }


def _build(options: dict[str, Any], key: str, header_prefix: str) -> Verifier:
    take(options, {"secrets", "tolerance"}, key)
    keys: list[bytes] = []
    for raw in secret_list(options, key):
        try:
            keys.append(decode_secret(raw))
        except ValueError as exc:
            raise ConfigurationError(
                f"{exc}; expected whsec_<base64> as the sender shows it", key=f"{key}.secrets"
            ) from None
    return StandardWebhooksVerifier(keys=keys, tolerance=tolerance_option(options, key), header_prefix=header_prefix)


@register_scheme("standard-webhooks", "standardwebhooks")
def _standard(options: dict[str, Any], key: str) -> Verifier:
    return _build(options, key, "webhook")


@register_scheme("svix")
def _svix(options: dict[str, Any], key: str) -> Verifier:
    return _build(options, key, "svix")
