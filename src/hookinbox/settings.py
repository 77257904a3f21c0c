"""Settings: one shape from a TOML file, a dict, Django settings or Flask config.

Everything is validated once, at start-up, and every error names the key (and
the file): ``hookinbox.toml: [endpoints.shop.verify] secrets: empty; set
CIMPLIFY_SECRET``. Unknown keys are errors, so a typo cannot silently turn a
check off. See ``docs/settings.md`` for the reference.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hookinbox.envelope import EventMapping
from hookinbox.errors import ConfigurationError
from hookinbox.presets import Preset
from hookinbox.verifiers import Verifier

__all__ = [
    "DEPRECATED_SETTINGS_ENV",
    "SETTINGS_ENV",
    "EndpointSettings",
    "RetryPolicy",
    "Settings",
    "load_settings",
    "settings_path_from_env",
]

log = logging.getLogger("hookinbox")

#: the environment variable naming the settings file, for the CLI, workers, examples and frameworks alike
SETTINGS_ENV = "HOOKINBOX_SETTINGS"
#: the CLI's former name for it: still read, with a DeprecationWarning
DEPRECATED_SETTINGS_ENV = "HOOKINBOX_CONFIG"


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
    #: advice that is not an error (a secret written literally in a file); logged at load, shown by ``check``
    notes: tuple[str, ...] = ()
    #: read from a TOML file (errors then name keys as the file reads: ``[endpoints.shop] secret``)
    from_toml: bool = False

    def locate(self, exc: ConfigurationError) -> ConfigurationError:
        """``exc`` (a handler that does not import, say) naming these settings' file, in its form."""
        return exc.located(self.source, toml=self.from_toml)

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], env: Mapping[str, str] | None = None, *, store: str | None = None
    ) -> Settings:
        """Read and validate a TOML file; ``store`` (a URL) replaces the file's ``store`` before validation."""
        p = Path(path)
        data = read_toml(p)
        if store is not None:
            data = _with_store(data, store, replace=True)
        return cls._build(data, env, str(p), p.parent, from_file=True)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
        source: str = "<dict>",
        base_dir: Path | None = None,
    ) -> Settings:
        return cls._build(data, env, source, base_dir, from_file=False)

    @classmethod
    def _build(
        cls,
        data: Mapping[str, Any],
        env: Mapping[str, str] | None,
        source: str,
        base_dir: Path | None,
        *,
        from_file: bool,
    ) -> Settings:
        from hookinbox._settings_build import build  # the builder needs these classes: imported late

        return build(data, os.environ if env is None else env, source, base_dir, from_file=from_file)

    def log_notes(self) -> None:
        """Log the :attr:`notes` (advice, not errors) as warnings; the shells call this at start-up."""
        for note in self.notes:
            log.warning("settings: %s", note)


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables; ConfigurationError naming the file when missing or invalid."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigurationError(f"settings file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigurationError(f"settings file is a directory: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"not valid TOML: {exc}", source=str(path)) from None


def _with_store(data: Mapping[str, Any], store: str, *, replace: bool) -> dict[str, Any]:
    """``data`` with ``store`` set (under ``[hookinbox]`` if used); an existing one kept unless ``replace``."""
    out = dict(data)
    nested = out.get("hookinbox")
    if isinstance(nested, Mapping):
        if replace or "store" not in nested:
            out["hookinbox"] = {**nested, "store": store}
    elif replace or "store" not in out:
        out["store"] = store
    return out


def settings_path_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """``$HOOKINBOX_SETTINGS``, else the deprecated ``$HOOKINBOX_CONFIG`` (with a DeprecationWarning), else None."""
    env = os.environ if environ is None else environ
    path = env.get(SETTINGS_ENV)
    if path:
        return path
    old = env.get(DEPRECATED_SETTINGS_ENV)
    if old:
        warnings.warn(
            f"{DEPRECATED_SETTINGS_ENV} is deprecated; name the settings file with {SETTINGS_ENV}",
            DeprecationWarning,
            stacklevel=2,
        )
        return old
    return None


SettingsSource = Settings | Mapping[str, Any] | str | os.PathLike[str]


def load_settings(
    obj: SettingsSource | None = None,
    *,
    default_store: str | None = None,
    store: str | None = None,
    source: str | None = None,
    name: str = "settings",
) -> Settings:
    """The one settings loader of Flask, Django, the CLI and the workers.

    ``obj`` is a :class:`Settings` (kept), a mapping of the TOML file's shape, or the path of a
    TOML file; ``None`` reads the path from ``$HOOKINBOX_SETTINGS``. ``store`` replaces the
    store (``--store``); ``default_store`` is used when the settings name none (Django's
    ``django://``, the CLI's SQLite file); a store whose driver is not installed is an error naming
    the extra to install. ``source`` names a mapping in errors
    (``settings.HOOKINBOX``); ``name`` names the setting that held ``obj`` when it is of the
    wrong type.
    """
    if obj is None:
        obj = settings_path_from_env()
        if obj is None:
            raise ConfigurationError(f"no settings: give a dict or a TOML file path, or set {SETTINGS_ENV}", key=name)
    if isinstance(obj, Settings):
        settings = obj
        if store is not None:
            settings = dataclasses.replace(settings, store=store)
        elif default_store is not None and "store" not in settings.given:
            settings = dataclasses.replace(settings, store=default_store)
        return settings
    if isinstance(obj, Mapping):
        data: dict[str, Any] = dict(obj)
        path: Path | None = None
    elif isinstance(obj, (str, os.PathLike)):
        path = Path(obj)
        data = read_toml(path)
    else:
        raise ConfigurationError(f"expected a dict or a path, got {type(obj).__name__}", key=name)
    if store is not None:
        data = _with_store(data, store, replace=True)
    elif default_store is not None:
        data = _with_store(data, default_store, replace=False)
    if path is not None:
        settings = Settings._build(data, None, str(path), path.parent, from_file=True)
    else:
        settings = Settings._build(data, None, source or "<dict>", None, from_file=False)
    from hookinbox._settings_build import store_driver_problem

    problem = store_driver_problem(settings.store)
    if problem:  # at start-up, with the extra to install, not as an ImportError at the first delivery
        key = "hookinbox.store" if "store" in settings.given else "store"
        raise ConfigurationError(problem, key=key, source=settings.source, toml=settings.from_toml)
    return settings
