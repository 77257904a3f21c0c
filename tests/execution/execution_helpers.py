"""Helpers for the execution tests: one signed endpoint, fast sweeps and retries (polling: tests/toolkit.py)."""

from __future__ import annotations

import json
from typing import Any

from tests.toolkit import hmac_headers

PATH = "/webhooks/generic"
SECRET = "whsec_abc123"
HEADER = "X-Webhook-Signature"

FAST = {"sweep_interval": "20ms", "recover_after": "0s", "lease": "5s", "drain_timeout": "5s"}


def settings(store: str = "memory://", *, endpoint: dict[str, Any] | None = None, **hookinbox: Any) -> dict[str, Any]:
    """One endpoint ``generic`` on the generic preset; fast sweeps and retries unless overridden."""
    ep = {"path": PATH, "preset": "generic", "secret": SECRET, "retry_delay": "10ms", "max_attempts": 3}
    ep.update(endpoint or {})
    return {"hookinbox": {"store": store, **FAST, **hookinbox}, "endpoints": {"generic": ep}}


def delivery(event_id: str, event_type: str = "order.created", **data: Any) -> tuple[bytes, dict[str, str]]:
    """A signed delivery of one event: (body, headers)."""
    body = json.dumps({"id": event_id, "type": event_type, "created_at": "2026-01-01T00:00:00Z", "data": data}).encode()
    return body, hmac_headers(SECRET, body, HEADER)


