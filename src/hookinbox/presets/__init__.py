"""Presets: one per provider, filled in from the provider's own webhook docs.

A preset supplies an endpoint's ``verify`` and ``event`` tables, so that a
user only adds the secret::

    [endpoints.pharmacy]
    path = "/webhooks/nimbus"
    preset = "nimbus"
    secret = "${NIMBUS_API_KEY}"

Secrets have one name for every preset and scheme: ``secret`` (one) or
``secrets`` (several, for rotation), whether the scheme is an HMAC key or an
API key compared with a header. ``api_key`` / ``api_keys`` are accepted as
synonyms on API-key presets, because that is what those providers call them.

Each preset also records the provider's documented ack budget and retry
schedule (used to check that ``dedup_ttl`` outlives the retries) and the
example payloads from its docs (used by ``hookinbox send``, the demo and the
test-suite).
"""

from __future__ import annotations

from hookinbox.presets._preset import Preset
from hookinbox.presets.public import PUBLIC_PRESETS
from hookinbox.presets.seeds import SEED_PRESETS

__all__ = ["PRESETS", "SEED_PRESETS", "Preset", "get_preset"]

PRESETS: dict[str, Preset] = {p.name: p for p in (*SEED_PRESETS, *PUBLIC_PRESETS)}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ``KeyError`` lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; one of {', '.join(sorted(PRESETS))}") from None
