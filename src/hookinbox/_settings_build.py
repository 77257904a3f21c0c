"""Building :class:`~hookinbox.settings.Settings` from a mapping (a parsed TOML file, Django settings,
Flask config): ``${VAR}`` interpolation, unit conversion, unknown-key errors that suggest the near
miss, presets merged under explicit endpoint keys. Every error names its key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hookinbox.envelope import EventMapping
from hookinbox.errors import ConfigurationError
from hookinbox.presets import Preset, get_preset
from hookinbox.settings import EndpointSettings, RetryPolicy, Settings
from hookinbox.units import parse_duration, parse_size
from hookinbox.verifiers import build_verifier
from hookinbox.verifiers.tenant import PROBE_SECRET, TenantVerifier

__all__ = ["build", "interpolate"]

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(value: str, env: Mapping[str, str], missing: list[str]) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}``; ``$$`` is a literal ``$``.

    Names of unset variables without a default are appended to ``missing``
    and expand to the empty string (validation then says which to set).
    """

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, default = m.group(1), m.group(2)
        got = env.get(name)
        if got:
            return got
        if default is not None:
            return default
        missing.append(name)
        return ""

    return _VAR.sub(sub, value)


# -- building -------------------------------------------------------------------------------

_GLOBAL_KEYS: dict[str, str] = {
    "store": "str",
    "store_options": "table",
    "executor": "str",
    "executor_options": "table",
    "dedup_ttl": "duration",
    "retention": "duration",
    "max_body": "size",
    "workers": "int",
    "queue_size": "int",
    "lease": "duration",
    "sweep_interval": "duration",
    "recover_after": "duration",
    "heartbeat_interval": "duration",
    "process_timeout": "duration",
    "drain_timeout": "duration",
    "body_timeout": "duration",
    "retry_after": "int",
    "max_events": "int",
    "log_bodies": "bool",
    "log_format": "str",
    "max_attempts": "int",
    "retry_delay": "duration",
    "retry_max_delay": "duration",
    "store_payload": "bool",
}

_ENDPOINT_KEYS = {
    "path",
    "preset",
    "secret",
    "secrets",
    "api_key",
    "api_keys",
    "verify",
    "event",
    "handlers",
    "max_body",
    "max_attempts",
    "retry_delay",
    "retry_max_delay",
    "store_payload",
    "secret_resolver",
    "secret_cache_ttl",
    "tenant_header",
}


class _Walker:
    """Interpolates strings while remembering which variables each key was missing."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.missing: dict[str, list[str]] = {}

    def walk(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            missing: list[str] = []
            out = interpolate(value, self.env, missing)
            if missing:
                self.missing.setdefault(key, []).extend(missing)
            return out
        if isinstance(value, Mapping):
            return {k: self.walk(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, key) for v in value]
        return value


def _convert(kind: str, value: Any, key: str) -> Any:
    try:
        if kind == "duration":
            return parse_duration(value)
        if kind == "size":
            return parse_size(value)
    except ValueError as exc:
        raise ConfigurationError(str(exc), key=key) from None
    if kind == "int":
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(f"expected a whole number, got {value!r}", key=key)
        return value
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise ConfigurationError(f"expected true or false, got {value!r}", key=key)
        return value
    if kind == "table":
        if not isinstance(value, Mapping):
            raise ConfigurationError("expected a table", key=key)
        return dict(value)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"expected a non-empty string, got {value!r}", key=key)
    return value


def _human(seconds: float) -> str:
    """``86415`` → ``1d 15s``: exact, so two different durations never print alike."""
    parts: list[str] = []
    rest = seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if rest >= size:
            n = int(rest // size)
            parts.append(f"{n}{unit}")
            rest -= n * size
    if rest or not parts:
        parts.append(f"{rest:g}s")
    return " ".join(parts)


def build(data: Mapping[str, Any], env: Mapping[str, str], source: str, base_dir: Path | None) -> Settings:
    if not isinstance(data, Mapping):
        raise ConfigurationError("settings must be a table")
    walker = _Walker(env)
    try:
        return _assemble(walker.walk(data, ""), walker, source, base_dir)
    except ConfigurationError as exc:  # a value that is wrong because a ${VAR} was unset: say which
        missing = walker.missing.get(exc.key or "")
        if missing and "; set " not in exc.message:
            hint = " or ".join(dict.fromkeys(missing))
            raise ConfigurationError(f"{exc.message}; set {hint}", key=exc.key, source=exc.source) from None
        raise


def _assemble(data: Mapping[str, Any], walker: _Walker, source: str, base_dir: Path | None) -> Settings:
    top = dict(data)
    endpoints_raw = top.pop("endpoints", None)
    glob: dict[str, Any] = {}
    nested = top.pop("hookinbox", None)
    if nested is not None:
        if not isinstance(nested, Mapping):
            raise ConfigurationError("expected a table", key="hookinbox")
        glob.update(nested)
    for k, v in top.items():  # a dict (Django/Flask) may put the globals at the top level
        if k in glob:
            raise ConfigurationError("given both at the top level and under [hookinbox]", key=k)
        glob[k] = v
    prefix = "hookinbox." if nested is not None else ""
    unknown = set(glob) - set(_GLOBAL_KEYS)
    if unknown:
        name = sorted(unknown)[0]
        known = [*_GLOBAL_KEYS, *([] if name in (nested or {}) else ["endpoints"])]
        where = prefix if name in (nested or {}) else ""
        raise ConfigurationError(_unknown(name, known), key=where + name)
    opts = {k: _convert(_GLOBAL_KEYS[k], v, prefix + k) for k, v in glob.items()}
    given = frozenset(opts)
    if "store" in opts and base_dir is not None:
        opts["store"] = _sqlite_relative_to(opts["store"], base_dir)
    if opts.get("process_timeout", 30.0) < 2 * opts.get("heartbeat_interval", 5.0):
        raise ConfigurationError(
            "must be at least twice heartbeat_interval (one late heartbeat must not declare a process dead)",
            key=prefix + "process_timeout",
        )
    if opts.get("log_format", "text") not in ("text", "json"):
        raise ConfigurationError(f"expected 'text' or 'json', got {opts['log_format']!r}", key=prefix + "log_format")
    if opts.get("max_attempts", 5) < 1:
        raise ConfigurationError("must be at least 1", key=prefix + "max_attempts")
    default_retry = RetryPolicy(
        max_attempts=opts.pop("max_attempts", 5),
        delay=opts.pop("retry_delay", 10.0),
        max_delay=opts.pop("retry_max_delay", 3600.0),
    )
    default_store_payload = opts.pop("store_payload", True)
    if endpoints_raw is None or endpoints_raw == {}:
        raise ConfigurationError("no endpoints configured; add an [endpoints.NAME] table", key="endpoints")
    if not isinstance(endpoints_raw, Mapping):
        raise ConfigurationError("expected a table of endpoints", key="endpoints")
    max_body = opts.get("max_body", 1_000_000)
    dedup_ttl = opts.get("dedup_ttl", 7 * 86400.0)
    endpoints: dict[str, EndpointSettings] = {}
    paths: dict[str, str] = {}
    for name, raw in endpoints_raw.items():
        ep = _endpoint(str(name), raw, walker, max_body, default_retry, default_store_payload)
        if ep.path in paths:
            raise ConfigurationError(
                f"path {ep.path} is already used by endpoint {paths[ep.path]!r}", key=f"endpoints.{name}.path"
            )
        paths[ep.path] = ep.name
        if ep.preset is not None and dedup_ttl < ep.preset.retry_horizon:
            raise ConfigurationError(
                f"{_human(dedup_ttl)} is shorter than {ep.preset.provider}'s retry horizon "
                f"({_human(ep.preset.retry_horizon)}); a late retry would be handled twice",
                key=prefix + "dedup_ttl",
            )
        endpoints[ep.name] = ep
    return Settings(endpoints=endpoints, source=source, given=given, **opts)


def _unknown(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"unknown setting; did you mean {close[0]!r}?"
    return f"unknown setting; known settings are {', '.join(sorted(known))}"


_SQLITE = re.compile(r"^(sqlite(?:\+\w+)?:///)([^?]*)(.*)$")


def _sqlite_relative_to(url: str, base_dir: Path) -> str:
    """A relative SQLite path in a settings file is relative to that file, not to the working directory."""
    m = _SQLITE.match(url)
    if m is None:
        return url
    head, path, query = m.groups()
    if not path or path == ":memory:" or path.startswith("/") or Path(path).is_absolute():
        return url
    return head + str((base_dir / path).resolve()) + query


def _endpoint(
    name: str,
    raw: Any,
    walker: _Walker,
    default_max_body: int,
    default_retry: RetryPolicy,
    default_store_payload: bool,
) -> EndpointSettings:
    key = f"endpoints.{name}"
    if not isinstance(raw, Mapping):
        raise ConfigurationError("expected a table", key=key)
    unknown = set(raw) - _ENDPOINT_KEYS
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigurationError(_unknown(name, sorted(_ENDPOINT_KEYS)), key=f"{key}.{name}")
    path = raw.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigurationError("missing or not starting with '/'", key=f"{key}.path")
    if len(path) > 1:
        path = path.rstrip("/")
    preset: Preset | None = None
    verify: dict[str, Any] = {}
    event: dict[str, Any] = {}
    if "preset" in raw:
        try:
            preset = get_preset(str(raw["preset"]))
        except KeyError as exc:
            raise ConfigurationError(str(exc.args[0]), key=f"{key}.preset") from None
        verify.update(preset.verify)
        event.update(preset.event)
    if "verify" in raw:
        if not isinstance(raw["verify"], Mapping):
            raise ConfigurationError("expected a table", key=f"{key}.verify")
        if preset is not None and "scheme" in raw["verify"] and raw["verify"]["scheme"] != verify.get("scheme"):
            verify = {}  # a different scheme replaces the preset's options instead of mixing with them
        verify.update(raw["verify"])
    if "event" in raw:
        if not isinstance(raw["event"], Mapping):
            raise ConfigurationError("expected a table", key=f"{key}.event")
        event.update(raw["event"])
    if not verify:
        raise ConfigurationError("no authentication: set `preset` or a `verify` table", key=key)
    scheme = str(verify.get("scheme", "")).lower()

    tenant = "secret_resolver" in raw  # per-tenant secrets (verifiers/tenant.py): resolved per delivery
    if tenant:
        fixed = [k for k in ("secret", "secrets", "api_key", "api_keys") if k in raw] + [
            f"verify.{k}" for k in ("secrets", "keys") if k in raw.get("verify", {})
        ]
        if fixed:
            raise ConfigurationError("give either a secret or a secret_resolver, not both", key=f"{key}.{fixed[0]}")
        verify["secrets"] = [PROBE_SECRET]  # the scheme's options are checked with a stand-in secret
    elif "secret_cache_ttl" in raw or "tenant_header" in raw:
        name = "secret_cache_ttl" if "secret_cache_ttl" in raw else "tenant_header"
        raise ConfigurationError("only with secret_resolver", key=f"{key}.{name}")
    # Secrets: one name for every scheme (`secret`/`secrets`), `api_key(s)` as synonyms for api-key.
    secret_keys = [k for k in ("secret", "secrets", "api_key", "api_keys") if k in raw]
    if len(secret_keys) > 1:
        raise ConfigurationError(f"give only one of {', '.join(secret_keys)}", key=f"{key}.{secret_keys[1]}")
    secret_key = f"{key}.verify.secrets"
    if secret_keys:
        k = secret_keys[0]
        if k.startswith("api_key") and scheme not in ("api-key", "apikey"):
            raise ConfigurationError(f"`{k}` is for api-key schemes; use `secret`/`secrets`", key=f"{key}.{k}")
        value = raw[k]
        verify["secrets"] = [value] if isinstance(value, str) else value
        secret_key = f"{key}.{k}"
    elif "keys" in verify and "secrets" not in verify:
        verify["secrets"] = verify.pop("keys")
        secret_key = f"{key}.verify.keys"
    if "secrets" not in verify:
        env_hint = f'; e.g. secret = "${{{preset.secret_env}}}"' if preset else ""
        raise ConfigurationError(f"no secret configured{env_hint}", key=f"{key}.secret")
    secrets = verify.get("secrets")
    if isinstance(secrets, str):
        secrets = verify["secrets"] = [secrets]
    if not isinstance(secrets, list) or not all(isinstance(s, str) for s in secrets):
        raise ConfigurationError("expected a string or a list of strings", key=secret_key)
    if not any(secrets):
        missing = walker.missing.get(secret_key, []) or walker.missing.get(f"{key}.verify.secrets", [])
        hint = f"; set {' or '.join(dict.fromkeys(missing))}" if missing else ""
        raise ConfigurationError(f"empty{hint}", key=secret_key)
    verify["secrets"] = [s for s in secrets if s]
    verifier = build_verifier(verify, f"{key}.verify")
    if tenant:
        verifier = TenantVerifier.from_settings(raw, verify, scheme, key)
    mapping = EventMapping.from_options(event, f"{key}.event")

    handlers: dict[str, tuple[str, ...]] = {}
    raw_handlers = raw.get("handlers", {})
    if not isinstance(raw_handlers, Mapping):
        raise ConfigurationError('expected a table of event type = "module:function"', key=f"{key}.handlers")
    for pattern, refs in raw_handlers.items():
        refs_list = [refs] if isinstance(refs, str) else refs
        if not isinstance(refs_list, list) or not all(isinstance(r, str) and ":" in r for r in refs_list):
            raise ConfigurationError('expected "module:function" or a list of them', key=f"{key}.handlers.{pattern}")
        handlers[str(pattern)] = tuple(refs_list)

    def get(name: str, kind: str, default: Any) -> Any:
        return _convert(kind, raw[name], f"{key}.{name}") if name in raw else default

    max_body = get("max_body", "size", default_max_body)
    retry = RetryPolicy(
        max_attempts=get("max_attempts", "int", default_retry.max_attempts),
        delay=get("retry_delay", "duration", default_retry.delay),
        max_delay=get("retry_max_delay", "duration", default_retry.max_delay),
    )
    if retry.max_attempts < 1:
        raise ConfigurationError("must be at least 1", key=f"{key}.max_attempts")
    store_payload = get("store_payload", "bool", default_store_payload)
    sensitive = frozenset({"authorization", "cookie", "proxy-authorization"}) | verifier.sensitive_headers
    return EndpointSettings(
        name=name,
        path=path,
        verifier=verifier,
        mapping=mapping,
        handlers=handlers,
        max_body=max_body,
        retry=retry,
        store_payload=store_payload,
        preset=preset,
        sensitive_headers=sensitive,
    )
