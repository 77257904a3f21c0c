"""Shopify (https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook).

Options (``verify`` table)::

    scheme  = "shopify"
    secrets = ["...", "..."]        # the app's client secret(s); any one may match

``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>``, keyed with the
client secret as UTF-8. Shopify signs no timestamp (``X-Shopify-Triggered-At``
is not covered by the signature), so there is no replay window: replays are
caught by de-duplication on ``X-Shopify-Webhook-Id`` (the preset's event id).
"""

from __future__ import annotations

from typing import Any

from hookinbox.verifiers import Verifier, register_scheme
from hookinbox.verifiers._options import secret_list, take
from hookinbox.verifiers.hmac import HmacVerifier

HEADER = "x-shopify-hmac-sha256"


@register_scheme("shopify")
def _shopify(options: dict[str, Any], key: str) -> Verifier:
    take(options, {"secrets"}, key)
    return HmacVerifier(header=HEADER, secrets=secret_list(options, key), algorithm="sha256", encoding="base64")
