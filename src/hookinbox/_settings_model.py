"""The settings' types: what a validated settings object holds (no parsing, no loading).

Kept apart from :mod:`hookinbox.settings` (the public module, which adds the loaders) and from
:mod:`hookinbox._settings_build` (which builds these from a mapping), so neither imports the other.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

from hookinbox.envelope import Envelope
from hookinbox.errors import ConfigurationError
from hookinbox.ordering import Ordering
from hookinbox.presets import Preset
from hookinbox.verifiers import Verifier

__all__ = ["EXECUTOR_KINDS", "EndpointSettings", "RetryPolicy", "SettingsModel"]

#: what the ``executor`` setting may name (``threads`` is an alias of ``thread``)
EXECUTOR_KINDS = ("auto", "thread", "threads", "asyncio", "celery", "rq")

log = logging.getLogger("hookinbox")


@dataclass(frozen=True)
class RetryPolicy:
    """How hookinbox retries a failing handler (the sender already got its 200).

    Attempt ``n`` (1-based) that fails waits a random time in
    ``[0, min(max_delay, delay * 2 ** (n - 1))]`` (full jitter) before the
    next; after ``max_attempts`` the event is ``dead``.
    """

    max_attempts: int = 5
    delay: float = 10.0
    max_delay: float = 3600.0

    def next_delay(self, attempt: int, rand: float) -> float | None:
        """Seconds before the next attempt after failed ``attempt``, or None when dead."""
        if attempt >= self.max_attempts:
            return None
        ceiling: float = min(self.max_delay, self.delay * (2 ** (attempt - 1)))
        return ceiling * rand


@dataclass(frozen=True)
class EndpointSettings:
    name: str
    path: str
    verifier: Verifier
    #: where the event's id, type, timestamp and data are (the endpoint's ``event`` table, or its preset's)
    envelope: Envelope
    handlers: dict[str, tuple[str, ...]]
    max_body: int
    retry: RetryPolicy
    store_payload: bool
    preset: Preset | None = None
    #: headers never stored nor logged (credentials), lower-cased
    sensitive_headers: frozenset[str] = frozenset()
    #: ordering by resource (``order_by``): events of one resource one at a time, in order; None when unordered
    ordering: Ordering | None = None

    @property
    def mapping(self) -> Envelope:
        """Deprecated name of :attr:`envelope`."""
        warnings.warn("EndpointSettings.mapping is now .envelope", DeprecationWarning, stacklevel=2)
        return self.envelope


@dataclass(frozen=True)
class SettingsModel:
    """Validated settings' values; :class:`hookinbox.settings.Settings` adds the loaders."""

    endpoints: dict[str, EndpointSettings]
    store: str = "memory://"
    store_options: dict[str, Any] = field(default_factory=dict)
    executor: str = "auto"
    executor_options: dict[str, Any] = field(default_factory=dict)
    dedup_ttl: float = 7 * 86400.0
    retention: float = 30 * 86400.0
    max_body: int = 1_000_000
    workers: int = 8
    queue_size: int = 1000
    lease: float = 300.0
    sweep_interval: float = 5.0
    recover_after: float = 30.0
    #: how often a process that claims events records that it is alive (durable stores)
    heartbeat_interval: float = 5.0
    #: a process silent for longer is presumed dead and its claims are given back (``lease`` stays the
    #: longest one handler may run in a live process)
    process_timeout: float = 30.0
    drain_timeout: float = 10.0
    body_timeout: float = 10.0
    retry_after: int = 5
    max_events: int = 100_000
    log_bodies: bool = False
    #: "text", or "json" for one JSON object per line (``hookinbox serve``; see docs/observability.md)
    log_format: str = "text"
    #: the token of the standalone dashboard (``hookinbox serve --dashboard``); write it as ``"${VAR}"``
    dashboard_token: str | None = None
    source: str = "<dict>"
    #: the global settings given explicitly (the CLI picks its own default store when ``store`` is not)
    given: frozenset[str] = frozenset()
    #: advice that is not an error (a secret written literally in a file); logged at load, shown by ``check``
    notes: tuple[str, ...] = ()
    #: read from a TOML file (errors then name keys as the file reads: ``[endpoints.shop] secret``)
    from_toml: bool = False

    def locate(self, exc: ConfigurationError) -> ConfigurationError:
        """``exc`` (a handler that does not import, say) naming these settings' file, in its form."""
        return exc.located(self.source, toml=self.from_toml)

    def log_notes(self) -> None:
        """Log the :attr:`notes` (advice, not errors) as warnings; the shells call this at start-up."""
        for note in self.notes:
            log.warning("settings: %s", note)
