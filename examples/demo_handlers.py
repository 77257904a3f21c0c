"""Handlers for examples/hookinbox.toml: log each event (id, type, endpoint), never its body.

Handlers receive one :class:`hookinbox.Event` and run after the sender got its
200, with retries. They must be idempotent: an event whose process died
mid-handler runs again.
"""

from __future__ import annotations

import logging

from hookinbox import Event

log = logging.getLogger("demo_handlers")


def log_event(event: Event) -> None:
    """Log that the event was handled. Payloads may be medical or payment data: never log them."""
    log.info("handled %s event %s on %s (attempt %d)", event.type, event.id, event.endpoint, event.attempt)
