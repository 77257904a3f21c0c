"""Discovered by hookinbox.django at start-up (like admin.py): the handlers of the Django tests."""

from __future__ import annotations

import threading
from typing import Any

from hookinbox.django import on

CALLS: list[tuple[str, str]] = []
FAIL: set[str] = set()
LOCK = threading.Lock()


@on("*")
def record(event: Any) -> None:
    """Note each event; raise for ids in FAIL (to make dead events)."""
    if event.id in FAIL:
        raise RuntimeError("handler told to fail")
    with LOCK:
        CALLS.append((event.endpoint, event.id))
