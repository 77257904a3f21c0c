"""`hookinbox send` builds deliveries the receiver accepts, for every preset (ids and types in headers too)."""

from __future__ import annotations

import pytest

from hookinbox import Inbox
from hookinbox.cli.send import build_delivery
from hookinbox.core import receive
from hookinbox.drive import run_sync
from hookinbox.presets import PRESETS


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_send_builds_an_accepted_delivery(preset: str) -> None:
    """The example delivery `send` builds for each preset is verified, parsed and recorded (200)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" if preset in ("standard-webhooks", "svix") else "s3cret"
    inbox = Inbox.from_settings({"endpoints": {"ep": {"path": "/ep", "preset": preset, "secret": secret}}})
    try:
        ep = inbox.endpoints["ep"]
        body, headers = build_delivery(ep, now=inbox.clock())
        lower = {k.lower(): v for k, v in headers.items()}
        reply = run_sync(receive(inbox, ep, lower, body, inbox.sync_executor()))
        assert reply.status == 200, reply.body
    finally:
        inbox.close()
