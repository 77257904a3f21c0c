"""The one test toolkit: polling, a hand-moved clock, the HTTP answer and delivery records, HMAC signing.

Every test takes these from here; ``tests/core/test_toolkit.py`` fails if a helper of one of these names
(:data:`MERGED`) is defined anywhere else under ``tests/``, so duplicates do not come back. Imports only the
standard library and the core package: ``tests/core`` runs with no extras installed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hookinbox.testing import Delivery
from hookinbox.verifiers.hmac import sign

__all__ = ["MERGED", "Clock", "Delivery", "Response", "await_for", "hmac_headers", "wait_for", "wait_status"]

# Names that may be defined only here (checked by tests/core/test_toolkit.py). ``Delivery`` is the library's
# own (hookinbox.testing), re-exported: the tests build deliveries the way users do.
MERGED = frozenset(
    {"wait_for", "wait_until", "wait_status", "await_for", "Clock", "Response", "AsgiResponse", "Delivery"}
    | {"hmac_headers", "sign", "sign_body"}
)

TIMEOUT = 20.0  # the longest of the old per-directory defaults (5, 10, 15, 20 s): never shorter than before
INTERVAL = 0.01


# -- polling ----------------------------------------------------------------------------------


def wait_for(
    predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition", *, interval: float = INTERVAL
) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


async def await_for(
    predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition", *, interval: float = INTERVAL
) -> Any:
    """:func:`wait_for` inside an event loop: polls with ``asyncio.sleep`` so the loop keeps running."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)


def wait_status(inbox: Any, event_id: str, status: Any, timeout: float = TIMEOUT, endpoint: str = "generic") -> Any:
    """Wait until ``inbox``'s store holds ``event_id`` with ``status``; returns its record."""

    def check() -> Any:
        rec = inbox.store.get(endpoint, event_id)
        return rec if rec is not None and rec.status is status else None

    return wait_for(check, timeout, f"{event_id} to be {getattr(status, 'value', status)}")


# -- time -------------------------------------------------------------------------------------


class Clock:
    """A clock the tests move by hand (retry schedules, leases, TTLs): ``clock()`` is ``clock.now``."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward; returns the new time."""
        self.now += seconds
        return self.now


# -- HTTP -------------------------------------------------------------------------------------


@dataclass
class Response:
    """One HTTP answer as a test client saw it: status, lower-cased headers, body; ASGI: how often it read."""

    status_code: int
    headers: dict[str, str]
    content: bytes
    receive_calls: int = 0

    def json(self) -> Any:
        return json.loads(self.content)


def hmac_headers(secret: str, body: bytes, header: str) -> dict[str, str]:
    """Headers of a JSON delivery signed the HMAC-SHA256-hex way (the seed providers' and generic scheme)."""
    return {header: sign(secret, body), "Content-Type": "application/json"}
