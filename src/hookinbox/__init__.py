"""hookinbox: receive webhooks without dropping, forging or replaying one.

Verify on the raw bytes, de-duplicate on the event id, record durably, ack in
milliseconds and run handlers in the background, behind ASGI, WSGI, Flask
and Django.
"""

from __future__ import annotations

from hookinbox import _logsafe
from hookinbox.errors import (
    AuthenticationFailed,
    ConfigurationError,
    HookinboxError,
    MalformedPayload,
    PayloadTooLarge,
    Rejected,
    StoreUnavailable,
    Unavailable,
)
from hookinbox.events import Event, EventRecord, Status
from hookinbox.inbox import Inbox
from hookinbox.presets import PRESETS, Preset
from hookinbox.settings import EndpointSettings, RetryPolicy, Settings
from hookinbox.verifiers import verify

__version__ = "0.1.0"

_logsafe.install()  # ids and types escaped in every log line

__all__ = [
    "PRESETS",
    "AuthenticationFailed",
    "ConfigurationError",
    "EndpointSettings",
    "Event",
    "EventRecord",
    "HookinboxError",
    "Inbox",
    "MalformedPayload",
    "PayloadTooLarge",
    "Preset",
    "Rejected",
    "RetryPolicy",
    "Settings",
    "Status",
    "StoreUnavailable",
    "Unavailable",
    "__version__",
    "verify",
]
