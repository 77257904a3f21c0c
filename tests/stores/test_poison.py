"""Poison deliveries (issue 16, row 4): refused at receive time, never failing the valid ones around them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hookinbox.asgi import WebhookMiddleware
from tests.stores._helpers import PAYLOAD, PROVIDER, asgi_deliver, inbox_for

POISON: list[dict[str, Any]] = [
    {**PAYLOAD, "id": "nul\x00id"},
    {**PAYLOAD, "id": "i" * 256},
    {**PAYLOAD, "id": "lone\ud800"},
    {**PAYLOAD, "id": "t-ok", "type": "t\x00"},
    {**PAYLOAD, "id": "t-long", "type": "t" * 256},
    {**PAYLOAD, "id": "ts-long", "createdAt": "9" * 65},
    {**PAYLOAD, "id": float("nan")},
]


def test_poison_and_valid_deliveries_at_once(store_url: tuple[str, dict[str, Any]]) -> None:
    """On every store, poison ids/types/timestamps sent among valid events get 400 malformed (a retry cannot
    succeed), and every valid delivery of the same moment gets 200 and is recorded."""
    inbox = inbox_for(store_url)
    app = WebhookMiddleware(None, inbox)
    valid = [json.dumps({**PAYLOAD, "id": f"ok-{i}"}).encode() for i in range(30)]
    poison = [json.dumps(p).encode() for p in POISON]
    bodies = [*valid[:15], *poison, *valid[15:]]

    async def main() -> list[tuple[int, dict[str, str], dict[str, Any]]]:
        try:
            return await asyncio.gather(*(asgi_deliver(app, b) for b in bodies))
        finally:
            await inbox.ashutdown()

    try:
        out = asyncio.run(main())
        by_body = dict(zip(bodies, out, strict=True))
        for b in valid:
            assert by_body[b][0] == 200, by_body[b]
        for b in poison:
            status, _, reply = by_body[b]
            assert (status, reply["error"]) == (400, "malformed"), reply
        assert all(inbox.store.get(PROVIDER.endpoint, f"ok-{i}") is not None for i in range(30))
    finally:
        inbox.close()
