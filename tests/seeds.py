"""The five seed providers as test data: settings, secrets and how each signs a delivery.

Every provider test takes its payloads from the preset, which copies them
from the provider's own docs (``shared/seeds``), and signs them exactly as
the doc says the provider does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hookinbox.presets import PRESETS, Preset
from tests.toolkit import hmac_headers


@dataclass(frozen=True)
class Provider:
    endpoint: str
    path: str
    preset: Preset
    secret: str

    @property
    def scheme(self) -> str:
        return str(self.preset.verify["scheme"])

    @property
    def header(self) -> str:
        return str(self.preset.verify["header"])

    def headers(self, body: bytes, secret: str | None = None) -> dict[str, str]:
        key = self.secret if secret is None else secret
        if self.scheme == "api-key":
            return {self.header: key, "Content-Type": "application/json"}
        return hmac_headers(key, body, self.header)

    def bodies(self) -> list[tuple[dict[str, Any], bytes]]:
        return [(p, json.dumps(p).encode()) for p in self.preset.samples]

    def expected_id(self, payload: dict[str, Any], body: bytes) -> str:
        idpath = self.preset.envelope.get("id")
        if idpath:
            return str(payload[idpath])
        import hashlib

        return "sha256:" + hashlib.sha256(body).hexdigest()

    def expected_data(self, payload: dict[str, Any]) -> Any:
        return payload[self.preset.envelope["data"]]


PROVIDERS = [
    Provider("orders", "/webhooks/nimbus-orders", PRESETS["nimbus-orders"], "orders-secret"),
    Provider("pharmacy", "/webhooks/nimbus", PRESETS["nimbus"], "nimbus-api-key"),
    Provider("novamed", "/webhooks/novamed", PRESETS["novamed"], "novamed-webhook-secret"),
    Provider("generic", "/webhooks/generic", PRESETS["generic"], "whsec_abc123"),
    Provider("shop", "/webhooks/cimplify", PRESETS["cimplify"], "cimplify-secret"),
]


def settings_dict(store: str = "memory://", **extra: Any) -> dict[str, Any]:
    """Settings with all five providers on their presets."""
    return {
        "hookinbox": {"store": store, **extra},
        "endpoints": {p.endpoint: {"path": p.path, "preset": p.preset.name, "secret": p.secret} for p in PROVIDERS},
    }
