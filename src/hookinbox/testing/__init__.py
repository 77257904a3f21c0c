"""Test your handlers without the provider: signed deliveries for any configured endpoint.

::

    from hookinbox.testing import sign, signed_delivery

    headers = sign("stripe", {"id": "evt_1", "type": "invoice.paid", "data": {"object": {}}}, inbox=inbox)
    delivery = signed_delivery("github", {"zen": "hi"}, inbox=inbox, event_type="ping")
    delivery.path, delivery.body, delivery.headers   # post them with any HTTP test client

Every verifier signs through its own ``headers_for(body, now)``, so a
delivery built here is exactly what the provider would send. For endpoints
that read the event id or type from headers (GitHub, Shopify), those headers
are added too: the type from ``event_type`` (or the preset's sample), the id
from ``event_id`` or else derived from the body, so that posting the same
payload twice is a duplicate, like a provider's retry.

:class:`WebhookClient` (and the ``hookinbox_client`` fixture of the pytest
plugin, :mod:`hookinbox.testing.pytest_plugin`) posts such deliveries to an
ASGI or WSGI app and waits until the handlers ran.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hookinbox.inbox import Inbox
from hookinbox.settings import EndpointSettings, Settings

__all__ = ["Delivery", "Response", "WebhookClient", "encode", "sign", "signed_delivery"]

Payload = Mapping[str, Any] | bytes | str


def encode(payload: Payload) -> bytes:
    """The body bytes: a mapping as compact JSON, a str as UTF-8, bytes as they are."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload, separators=(",", ":")).encode()


def _endpoint(endpoint: str | EndpointSettings, inbox: Inbox | None, settings: Settings | None) -> EndpointSettings:
    if isinstance(endpoint, EndpointSettings):
        return endpoint
    if inbox is not None:
        settings = inbox.settings
    if settings is None:
        raise TypeError("pass inbox= or settings= to find the endpoint by name")
    try:
        return settings.endpoints[endpoint]
    except KeyError:
        raise KeyError(f"no endpoint {endpoint!r}; configured: {', '.join(settings.endpoints)}") from None


def sign(
    endpoint: str | EndpointSettings,
    payload: Payload,
    *,
    inbox: Inbox | None = None,
    settings: Settings | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """The signature headers the provider would send with ``payload`` to ``endpoint``.

    ``now`` (Unix time) defaults to the inbox's clock, else the current time;
    pass an old one to test the replay window.
    """
    ep = _endpoint(endpoint, inbox, settings)
    when = now if now is not None else (inbox.clock() if inbox is not None else time.time())
    return ep.verifier.headers_for(encode(payload), when)


@dataclass(frozen=True)
class Delivery:
    """One signed request: POST ``body`` to ``path`` with ``headers``."""

    endpoint: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def tampered(self) -> Delivery:
        """The same delivery with one byte of the body changed (its signature no longer matches)."""
        if not self.body:
            return replace(self, body=b" ")
        flipped = bytes([self.body[-1] ^ 0x01])
        return replace(self, body=self.body[:-1] + flipped)

    def with_headers(self, **changes: str) -> Delivery:
        """A copy with headers added or replaced (``with_headers(**{"x-hub-signature-256": "..."})``)."""
        return replace(self, headers={**self.headers, **changes})


def signed_delivery(
    endpoint: str | EndpointSettings,
    payload: Payload,
    *,
    inbox: Inbox | None = None,
    settings: Settings | None = None,
    now: float | None = None,
    event_type: str | None = None,
    event_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Delivery:
    """A complete signed delivery of ``payload`` to ``endpoint`` (see the module docs)."""
    ep = _endpoint(endpoint, inbox, settings)
    body = encode(payload)
    when = now if now is not None else (inbox.clock() if inbox is not None else time.time())
    mapping = ep.envelope
    sample = ep.preset.headers_of(dict(payload)) if ep.preset is not None and isinstance(payload, Mapping) else {}
    out: dict[str, str] = {"content-type": "application/json", **{k.lower(): v for k, v in sample.items()}}
    signed = ep.verifier.headers_for(body, when)
    if mapping.id_header:
        id_names = [n.strip() for n in mapping.id_header.split(",")]
        signed_id = next((n for n in id_names if n in signed), None)
        if signed_id is not None and event_id is not None:  # the id is part of the signature
            with_id = getattr(ep.verifier, "headers_for_id", None)
            if with_id is None:
                raise ValueError(f"endpoint {ep.name!r} signs its event id; it cannot be chosen")
            signed = with_id(body, when, event_id)
        elif signed_id is None:
            if event_id is None and id_names[0] not in out:
                event_id = str(uuid.UUID(bytes=hashlib.sha256(body).digest()[:16]))
            if event_id is not None:
                out[id_names[0]] = event_id
    if mapping.type_header:
        type_name = mapping.type_header.split(",")[0].strip()
        if event_type is not None:
            out[type_name] = event_type
        elif type_name not in out:
            raise ValueError(f"endpoint {ep.name!r} reads the event type from {type_name}; pass event_type=")
    out.update(signed)
    out.update({k.lower(): v for k, v in (headers or {}).items()})
    return Delivery(endpoint=ep.name, path=ep.path, body=body, headers=out)


from hookinbox.testing._client import Response, WebhookClient  # noqa: E402
