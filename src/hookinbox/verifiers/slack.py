"""Slack (https://api.slack.com/authentication/verifying-requests-from-slack).

Options (``verify`` table)::

    scheme    = "slack"
    secrets   = ["...", "..."]      # the app's signing secret(s); any one may match
    tolerance = "5m"                # replay window around X-Slack-Request-Timestamp

``X-Slack-Signature: v0=<hex>`` is HMAC-SHA256, keyed with the signing secret
as UTF-8, of the basestring ``v0:{X-Slack-Request-Timestamp}:{body}``.

Two Events API envelopes are answered here, after the signature is checked,
instead of being recorded as events (see :meth:`SlackVerifier.handshake`):

* ``url_verification``: Slack checks the Request URL by sending a
  ``challenge``; the answer must echo it (``{"challenge": ...}``).
* ``app_rate_limited``: a notice that Slack dropped events; it carries no
  event id. It is acknowledged and logged as a warning.

Slack retries (``X-Slack-Retry-Num``, ``X-Slack-Retry-Reason``) resend the
same ``event_id``, so they are de-duplicated like any retry, and answered 200
so Slack stops; the retry headers are kept with the event.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
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
    parse_timestamp,
    tolerance_option,
)

__all__ = ["SlackVerifier"]

log = logging.getLogger("hookinbox")

_SIGNATURE = "x-slack-signature"
_TIMESTAMP = "x-slack-request-timestamp"


class SlackVerifier:
    """``X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}"))``."""

    def __init__(self, *, secrets: list[bytes], tolerance: float = DEFAULT_TOLERANCE) -> None:
        self.secrets = list(secrets)
        self.tolerance = tolerance
        self.sensitive_headers: frozenset[str] = frozenset()

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        signature = headers.get(_SIGNATURE)
        if not signature:
            raise AuthenticationFailed("missing X-Slack-Signature header")
        stamp = headers.get(_TIMESTAMP)
        sent = parse_timestamp(stamp, "X-Slack-Request-Timestamp")
        version, _, text = signature.partition("=")
        given = decode_hex(text) if version.strip() == "v0" else None
        if given is None:
            raise AuthenticationFailed("X-Slack-Signature is not v0=<hex>")
        basestring = b"v0:" + (stamp or "").strip().encode() + b":" + body
        if not any_match(self.secrets, basestring, [given], hashlib.sha256):
            raise AuthenticationFailed("X-Slack-Signature does not match")
        check_timestamp(sent, now, self.tolerance, "X-Slack-Request-Timestamp")

    def headers_for(self, body: bytes, now: float) -> dict[str, str]:
        stamp = str(int(now))
        sig = hmac.new(self.secrets[0], b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        return {_TIMESTAMP: stamp, _SIGNATURE: "v0=" + sig}

    def handshake(self, payload: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any] | None:
        """The answer to a verified delivery that is not an event, or None for an event."""
        kind = payload.get("type")
        if kind == "url_verification":
            return {"challenge": payload.get("challenge", "")}
        if kind == "app_rate_limited":
            log.warning(
                "Slack rate-limited events for app %s (minute %s); those events are not delivered",
                payload.get("api_app_id"),
                payload.get("minute_rate_limited"),
            )
            return {"received": True}
        return None


@register_scheme("slack")
def _slack(options: dict[str, Any], key: str) -> Verifier:
    take(options, {"secrets", "tolerance"}, key)
    return SlackVerifier(secrets=secret_list(options, key), tolerance=tolerance_option(options, key))
