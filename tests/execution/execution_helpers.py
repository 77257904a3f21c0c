"""Helpers for the execution tests: one signed endpoint, fast sweeps and retries, polling."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from hookinbox.verifiers.hmac import sign

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
    return body, {HEADER: sign(SECRET, body), "Content-Type": "application/json"}


def wait_for(pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``pred`` until truthy (returned) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def require_store_backend(module: str) -> None:
    """Skip until the durable-store work (branch ``stores``) is merged into this branch."""
    if not has_module(module):
        pytest.skip(f"{module} is not on this branch yet (durable stores are built on branch 'stores')")


def wait_status(inbox: Any, event_id: str, status: Any, timeout: float = 10.0, endpoint: str = "generic") -> Any:
    """Wait until the stored event has ``status``; returns its record."""

    def check() -> Any:
        rec = inbox.store.get(endpoint, event_id)
        return rec if rec is not None and rec.status is status else None

    return wait_for(check, timeout, f"{event_id} to be {getattr(status, 'value', status)}")
