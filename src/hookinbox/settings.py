"""Settings: one shape from a TOML file, a dict, Django settings or Flask config.

Everything is validated once, at start-up, and every error names the key (and
the file): ``hookinbox.toml: endpoints.shop.verify.secrets: empty; set
CIMPLIFY_SECRET``. Unknown keys are errors, so a typo cannot silently turn a
check off. See ``docs/settings.md`` for the reference.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hookinbox.envelope import EventMapping
from hookinbox.errors import ConfigurationError
from hookinbox.presets import Preset
from hookinbox.verifiers import Verifier

__all__ = ["EndpointSettings", "RetryPolicy", "Settings"]


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
    mapping: EventMapping
    handlers: dict[str, tuple[str, ...]]
    max_body: int
    retry: RetryPolicy
    store_payload: bool
    preset: Preset | None = None
    #: headers never stored nor logged (credentials), lower-cased
    sensitive_headers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Settings:
    """Validated settings. Build with :meth:`from_file` or :meth:`from_dict`."""

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
    source: str = "<dict>"
    #: the global settings given explicitly (the CLI picks its own default store when ``store`` is not)
    given: frozenset[str] = frozenset()

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Settings:
        p = Path(path)
        try:
            with p.open("rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigurationError(f"settings file not found: {p}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"not valid TOML: {exc}", source=str(p)) from None
        return cls.from_dict(data, env=env, source=str(p), base_dir=p.parent)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
        source: str = "<dict>",
        base_dir: Path | None = None,
    ) -> Settings:
        try:
            from hookinbox._settings_build import build  # the builder needs these classes: imported late

            return build(data, os.environ if env is None else env, source, base_dir)
        except ConfigurationError as exc:
            if exc.source is None:
                raise ConfigurationError(exc.message, key=exc.key, source=source) from None
            raise
