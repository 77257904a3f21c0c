"""Shopify (https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook).

Options (``verify`` table)::

    scheme  = "shopify"
    secrets = ["...", "..."]        # the app's client secret(s); any one may match
    require_headers = true          # also refuse deliveries without X-Shopify-API-Version and
                                    # X-Shopify-Shop-Domain (as Shopify's app library does); or a list
                                    # of header names to require; default false

``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>``, keyed with the
client secret as UTF-8. Shopify signs no timestamp (``X-Shopify-Triggered-At``
is not covered by the signature), so there is no replay window: replays are
caught by de-duplication on ``X-Shopify-Webhook-Id`` (the preset's event id).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookinbox.errors import AuthenticationFailed, ConfigurationError
from hookinbox.verifiers import Verifier, register_scheme
from hookinbox.verifiers._options import secret_list, take
from hookinbox.verifiers.hmac import HmacVerifier

HEADER = "x-shopify-hmac-sha256"
#: what Shopify's app library requires besides the signature (``require_headers = true``)
OFFICIAL_REQUIRED = ("X-Shopify-API-Version", "X-Shopify-Shop-Domain")


class ShopifyVerifier(HmacVerifier):
    """Base64 HMAC-SHA256 of the body; optionally, headers that must be present."""

    def __init__(self, *, secrets: list[bytes], required: tuple[str, ...] = ()) -> None:
        super().__init__(header=HEADER, secrets=secrets, algorithm="sha256", encoding="base64")
        self.required = tuple(h.lower() for h in required)

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        super().verify(headers, body, now)
        for name in self.required:
            if not (headers.get(name) or "").strip():
                raise AuthenticationFailed(f"missing {name} header")

    def headers_for(self, body: bytes, now: float) -> dict[str, str]:
        out = super().headers_for(body, now)
        for name in self.required:
            out.setdefault(name, _EXAMPLE.get(name, "example"))
        return out


_EXAMPLE = {"x-shopify-api-version": "2025-01", "x-shopify-shop-domain": "example.myshopify.com"}


def _required(options: dict[str, Any], key: str) -> tuple[str, ...]:
    value = options.get("require_headers", False)
    if value is True:
        return OFFICIAL_REQUIRED
    if value is False:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value)
    raise ConfigurationError("expected true, false or a list of header names", key=f"{key}.require_headers")


@register_scheme("shopify")
def _shopify(options: dict[str, Any], key: str) -> Verifier:
    take(options, {"secrets", "require_headers"}, key)
    return ShopifyVerifier(secrets=secret_list(options, key), required=_required(options, key))
