"""Shared by the dashboard tests: an inbox with events in known states, and a logged-in WSGI client."""

from __future__ import annotations

import re
from typing import Any

from hookinbox.events import EventRecord
from hookinbox.inbox import Inbox
from tests.seeds import settings_dict

TOKEN = "correct-horse-battery-staple"
T0 = 1_765_000_000.0


def record(event_id: str, endpoint: str = "shop", t: float = T0, type: str = "order.paid") -> EventRecord:
    return EventRecord(
        endpoint=endpoint, id=event_id, type=type, body=b'{"order": {"total": 42, "card": "4242"}}',
        headers={"content-type": "application/json", "x-signature": "sha256=deadbeefcafe", "user-agent": "Cimplify/1"},
        received_at=t,
    )  # fmt: skip


def seeded_inbox(store: str = "memory://", store_object: Any = None, **options: Any) -> Inbox:
    """Events: shop/evt_done (done), shop/evt_dead (dead, error "KeyError: 'sku'"), shop/evt_new (pending),
    orders/ord_1 (pending)."""
    inbox = Inbox.from_settings(settings_dict(store=store, store_options=options), store=store_object)
    s = inbox.store
    s.record(record("evt_done", t=T0))
    s.record(record("evt_dead", t=T0 + 1))
    s.record(record("evt_new", t=T0 + 2))
    s.record(record("ord_1", endpoint="orders", t=T0 + 3, type="order.created"))
    s.claim("shop", "evt_done", T0 + 5, 30)
    s.complete("shop", "evt_done", T0 + 6)
    s.claim("shop", "evt_dead", T0 + 5, 30)
    s.fail("shop", "evt_dead", T0 + 6, "KeyError: 'sku'", None)
    return inbox


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)
