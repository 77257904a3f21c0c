"""Building :class:`~hookinbox.settings.Settings` from a mapping (a parsed TOML file, Django settings,
Flask config): ``${VAR}`` interpolation, unit conversion, unknown-key errors that suggest the near
miss, presets merged under explicit endpoint keys. Every error names its key, and every mistake in
the settings is reported at once (:class:`~hookinbox.errors.SettingsErrors`), as pydantic and cargo do.
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hookinbox._settings_model import EXECUTOR_KINDS, EndpointSettings, RetryPolicy, SettingsModel
from hookinbox.envelope import Envelope
from hookinbox.errors import ConfigurationError, SettingsErrors, toml_location
from hookinbox.ordering import Ordering
from hookinbox.presets import Preset, get_preset
from hookinbox.units import parse_duration, parse_size
from hookinbox.verifiers import Verifier, build_verifier
from hookinbox.verifiers._options import secret_problem
from hookinbox.verifiers.tenant import TenantVerifier

__all__ = ["build", "interpolate", "normalise_store_url", "store_driver_problem"]

S = TypeVar("S", bound=SettingsModel)

_WHOLE_VAR = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
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
    "store": "store",
    "store_options": "table",
    "executor": "executor",
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
    "dashboard_token": "str",
    "log_format": "str",
    "max_attempts": "attempts",
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
    "order_by",
    "order_seq",
    "on_stale",
}


class _Walker:
    """Interpolates strings while remembering which variables each key was missing."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.missing: dict[str, list[str]] = {}
        #: keys where an unset variable was only part of a value (``"whsec_${X}"``): never silently empty
        self.partial: set[str] = set()
        #: keys whose value was written literally in the settings (no ``${VAR}``)
        self.literal: set[str] = set()

    def walk(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            missing: list[str] = []
            out = interpolate(value, self.env, missing)
            if missing:
                self.missing.setdefault(key, []).extend(missing)
                if not _WHOLE_VAR.match(value):
                    self.partial.add(key)
            if "${" not in value:
                self.literal.add(key)
            return out
        if isinstance(value, Mapping):
            return {k: self.walk(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, key) for v in value]
        return value


#: durations that must be more than zero (the others may be 0: no delay, no wait)
_POSITIVE = {"dedup_ttl", "retention", "lease", "sweep_interval", "body_timeout", "retry_max_delay"}

#: the most handler attempts: beyond this a backoff of ``delay * 2 ** (n - 1)`` means nothing (and overflows)
MAX_ATTEMPTS = 100


#: common spellings of store URLs, rewritten to the driver hookinbox installs with its extra
_STORE_ALIASES = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}

#: (URL scheme, driver) -> (module to import, extra that installs it)
_DRIVERS = {
    ("sqlite", None): [("sqlalchemy", "sqlite")],
    ("postgresql", "psycopg"): [("sqlalchemy", "postgresql"), ("psycopg", "postgresql")],
    ("postgresql", "psycopg2"): [("sqlalchemy", "postgresql"), ("psycopg2", "postgresql")],
    ("mysql", "pymysql"): [("sqlalchemy", "mysql"), ("pymysql", "mysql")],
    ("mariadb", "pymysql"): [("sqlalchemy", "mysql"), ("pymysql", "mysql")],
    ("redis", None): [("redis", "redis")],
    ("rediss", None): [("redis", "redis")],
}


class _Problems:
    """Every mistake found while building, so that all of them are reported at once."""

    def __init__(self) -> None:
        self.errors: list[ConfigurationError] = []
        #: secret keys where an unset whole-value ``${VAR}`` entry of a rotation list was dropped on purpose
        self.dropped: set[str] = set()
        self.notes: list[str] = []

    def add(self, message: str, key: str | None) -> None:
        self.errors.append(ConfigurationError(message, key=key))

    @contextmanager
    def collect(self) -> Iterator[None]:
        try:
            yield
        except SettingsErrors as many:
            self.errors.extend(many.errors)
        except ConfigurationError as exc:
            self.errors.append(exc)

    def __len__(self) -> int:
        return len(self.errors)


def _choice(value: str, choices: list[str] | tuple[str, ...], what: str) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what} {value!r}{hint} (one of {', '.join(sorted(set(choices)))})"


def _convert(kind: str, value: Any, key: str, strict: bool = False) -> Any:
    name = key.rsplit(".", 1)[-1]
    try:
        if kind == "duration":
            seconds = parse_duration(value, bare_numbers=not strict)
            if name in _POSITIVE and seconds <= 0:
                raise ConfigurationError("must be more than 0", key=key)
            return seconds
        if kind == "size":
            size = parse_size(value)
            if size <= 0:
                raise ConfigurationError("must be more than 0 bytes", key=key)
            return size
    except ValueError as exc:
        raise ConfigurationError(str(exc), key=key) from None
    if kind in ("int", "attempts"):
        if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value, re.ASCII):
            value = int(value)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(f"expected a whole number, got {value!r}", key=key)
        if kind == "attempts" and value < 1:
            raise ConfigurationError("must be at least 1", key=key)
        if kind == "attempts" and value > MAX_ATTEMPTS:
            raise ConfigurationError(
                f"{value} is more than {MAX_ATTEMPTS}; with exponential backoff the last retries would wait "
                "retry_max_delay each: use a longer retry_max_delay instead",
                key=key,
            )
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
    if kind == "executor":
        choices = list(EXECUTOR_KINDS)
        if value.strip().lower() not in choices:
            raise ConfigurationError(_choice(value, choices, "executor"), key=key)
        return value.strip().lower()
    if kind == "store":
        return normalise_store_url(value, key)
    return value


def normalise_store_url(url: str, key: str = "hookinbox.store") -> str:
    """``postgres://`` → ``postgresql+psycopg://``, ``mysql://`` → ``mysql+pymysql://``; unknown schemes refused."""
    from hookinbox.stores import _BACKENDS

    head, sep, rest = url.partition("://")
    if not sep:
        head, sep, rest = url.partition(":")
    if not sep or not head:
        raise ConfigurationError(f"{url!r} is not a store URL such as sqlite:///hookinbox.db", key=key)
    scheme = head.lower()
    if scheme in _STORE_ALIASES:
        return f"{_STORE_ALIASES[scheme]}://{rest}" if "://" in url else url
    base = scheme.split("+", 1)[0]
    if base not in _BACKENDS and base != "django":  # django:// is registered when hookinbox.django is imported
        raise ConfigurationError(_choice(base, list(_BACKENDS), "store URL scheme"), key=key)
    return url


def store_driver_problem(url: str) -> str | None:
    """Why this store URL cannot be opened here (a driver not installed, with the extra to install), or None."""
    scheme, _, driver = url.split(":", 1)[0].lower().partition("+")
    for module, extra in _DRIVERS.get((scheme, driver or None), []):
        if importlib.util.find_spec(module) is None:
            return f"{url.split(':', 1)[0]} needs {module}, which is not installed: pip install 'hookinbox[{extra}]'"
    return None


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


def build(
    data: Mapping[str, Any],
    env: Mapping[str, str],
    source: str,
    base_dir: Path | None,
    *,
    from_file: bool = False,
    cls: type[S],
) -> S:
    """Validate ``data`` into a ``cls``; raises one :class:`ConfigurationError`, or :class:`SettingsErrors`
    listing several."""
    if not isinstance(data, Mapping):
        raise ConfigurationError("settings must be a table", source=source)
    walker = _Walker(env)
    problems = _Problems()
    settings = _assemble(walker.walk(data, ""), walker, problems, base_dir, from_file, source, cls)
    errors = _with_variable_hints(problems, walker)
    if errors:
        errors = [e.located(source, toml=from_file) for e in errors]
        if len(errors) == 1:
            raise errors[0]
        raise SettingsErrors(errors, source=source)
    assert settings is not None
    return settings


def _with_variable_hints(problems: _Problems, walker: _Walker) -> list[ConfigurationError]:
    """Say which ``${VAR}`` to set on each error it caused; an unset variable is itself an error anywhere else."""
    out: list[ConfigurationError] = []
    seen: set[tuple[str | None, str]] = set()
    keyed = {exc.key for exc in problems.errors}
    for exc in problems.errors:
        missing = walker.missing.get(exc.key or "")
        if missing and "; set " not in exc.message:
            exc = ConfigurationError(f"{exc.message}; set {' or '.join(dict.fromkeys(missing))}", key=exc.key)
        if (exc.key, exc.message) not in seen:
            seen.add((exc.key, exc.message))
            out.append(exc)
    for key, names in walker.missing.items():
        if key in keyed or (key in problems.dropped and key not in walker.partial):
            continue
        unset = list(dict.fromkeys(names))
        refs = ", ".join(f"${{{n}}}" for n in unset)
        out.append(
            ConfigurationError(
                f"{refs} {'is' if len(unset) == 1 else 'are'} not set; set {' and '.join(unset)} "
                f"(or write ${{{unset[0]}:-default}} for an optional value)",
                key=key,
            )
        )
    return out


def _assemble(
    data: Mapping[str, Any],
    walker: _Walker,
    problems: _Problems,
    base_dir: Path | None,
    strict: bool,
    source: str,
    cls: type[S],
) -> S | None:
    top = dict(data)
    endpoints_raw = top.pop("endpoints", None)
    glob: dict[str, Any] = {}
    nested = top.pop("hookinbox", None)
    if nested is not None and not isinstance(nested, Mapping):
        problems.add("expected a table", "hookinbox")
        nested = {}
    if nested is not None:
        glob.update(nested)
    for k, v in top.items():  # a dict (Django/Flask) may put the globals at the top level
        if k in glob:
            problems.add("given both at the top level and under [hookinbox]", k)
            continue
        glob[k] = v
    prefix = "hookinbox." if nested is not None else ""
    opts: dict[str, Any] = {}
    for name, value in glob.items():
        if name not in _GLOBAL_KEYS:
            known = [*_GLOBAL_KEYS, *([] if name in (nested or {}) else ["endpoints"])]
            where = prefix if name in (nested or {}) else ""
            problems.add(_unknown(name, known), where + name)
            continue
        with problems.collect():
            opts[name] = _convert(_GLOBAL_KEYS[name], value, prefix + name, strict)
    given = frozenset(opts)
    if "store" in opts and base_dir is not None:
        opts["store"] = _sqlite_relative_to(opts["store"], base_dir)
    if opts.get("log_format", "text") not in ("text", "json"):
        problems.add(f"expected 'text' or 'json', got {opts.pop('log_format')!r}", prefix + "log_format")
    if opts.get("process_timeout", 30.0) < 2 * opts.get("heartbeat_interval", 5.0):
        problems.add(
            "must be at least twice heartbeat_interval (one late heartbeat must not declare a process dead)",
            prefix + "process_timeout",
        )
    default_retry = RetryPolicy(
        max_attempts=opts.pop("max_attempts", 5),
        delay=opts.pop("retry_delay", 10.0),
        max_delay=opts.pop("retry_max_delay", 3600.0),
    )
    default_store_payload = opts.pop("store_payload", True)
    endpoints: dict[str, EndpointSettings] = {}
    if endpoints_raw is None or endpoints_raw == {}:
        problems.add("no endpoints configured; add an [endpoints.NAME] table", "endpoints")
    elif not isinstance(endpoints_raw, Mapping):
        problems.add("expected a table of endpoints", "endpoints")
    else:
        max_body = opts.get("max_body", 1_000_000)
        dedup_ttl = opts.get("dedup_ttl", 7 * 86400.0)
        paths: dict[str, str] = {}
        for name, raw in endpoints_raw.items():
            context = _EndpointContext(str(name), walker, problems, strict, source)
            ep = _endpoint(context, raw, max_body, default_retry, default_store_payload)
            if ep is None:
                continue
            if ep.path in paths:
                problems.add(f"path {ep.path} is already used by endpoint {paths[ep.path]!r}", f"endpoints.{name}.path")
                continue
            paths[ep.path] = ep.name
            if ep.preset is not None and not any((e.key or "").endswith("dedup_ttl") for e in problems.errors):
                if dedup_ttl < ep.preset.retry_horizon:
                    problems.add(
                        f"{_human(dedup_ttl)} is shorter than {ep.preset.provider}'s retry horizon "
                        f"({_human(ep.preset.retry_horizon)}); a late retry would be handled twice",
                        prefix + "dedup_ttl",
                    )
            endpoints[ep.name] = ep
    if problems.errors:
        return None
    return cls(endpoints=endpoints, source=source, given=given, notes=tuple(problems.notes), from_toml=strict, **opts)


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


class _EndpointContext:
    def __init__(self, name: str, walker: _Walker, problems: _Problems, strict: bool, source: str) -> None:
        self.name = name
        self.key = f"endpoints.{name}"
        self.walker = walker
        self.problems = problems
        self.strict = strict
        self.source = source


def _endpoint(
    cx: _EndpointContext,
    raw: Any,
    default_max_body: int,
    default_retry: RetryPolicy,
    default_store_payload: bool,
) -> EndpointSettings | None:
    key, problems = cx.key, cx.problems
    if not isinstance(raw, Mapping):
        problems.add("expected a table", key)
        return None
    before = len(problems)
    for unknown in sorted(set(raw) - _ENDPOINT_KEYS):
        problems.add(_unknown(unknown, sorted(_ENDPOINT_KEYS)), f"{key}.{unknown}")
    path = raw.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        problems.add("missing or not starting with '/'", f"{key}.path")
        path = "/"
    if len(path) > 1:
        path = path.rstrip("/")
    preset: Preset | None = None
    verify: dict[str, Any] = {}
    event: dict[str, Any] = {}
    if "preset" in raw:
        try:
            preset = get_preset(str(raw["preset"]))
        except KeyError as exc:
            from hookinbox.presets import PRESETS

            close = difflib.get_close_matches(str(raw["preset"]).lower(), list(PRESETS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.add(f"{exc.args[0]}{hint}", f"{key}.preset")
        else:
            verify.update(preset.verify)
            event.update(preset.envelope)
    if "verify" in raw:
        if not isinstance(raw["verify"], Mapping):
            problems.add("expected a table", f"{key}.verify")
        else:
            if preset is not None and "scheme" in raw["verify"] and raw["verify"]["scheme"] != verify.get("scheme"):
                verify = {}  # a different scheme replaces the preset's options instead of mixing with them
            verify.update(raw["verify"])
    if "event" in raw:
        if not isinstance(raw["event"], Mapping):
            problems.add("expected a table", f"{key}.event")
        else:
            event.update(raw["event"])
    verifier: Verifier | None = None
    if not verify:
        if "preset" not in raw:
            problems.add("no authentication: set `preset` or a `verify` table", key)
    else:
        with problems.collect():
            if "secret_resolver" in raw:  # per-tenant secrets (verifiers/tenant.py): resolved per delivery
                verifier = _tenant_verifier(key, raw, verify)
            else:
                verifier = build_verifier(_secrets(cx, raw, verify, preset), f"{key}.verify")
    for name in ("secret_cache_ttl", "tenant_header"):
        if name in raw and "secret_resolver" not in raw:
            problems.add("only with secret_resolver", f"{key}.{name}")
    envelope = None
    with problems.collect():
        envelope = Envelope.from_options(event, f"{key}.event")

    handlers: dict[str, tuple[str, ...]] = {}
    raw_handlers = raw.get("handlers", {})
    if not isinstance(raw_handlers, Mapping):
        problems.add('expected a table of event type = "module:function"', f"{key}.handlers")
        raw_handlers = {}
    for pattern, refs in raw_handlers.items():
        refs_list = [refs] if isinstance(refs, str) else refs
        if not isinstance(refs_list, list) or not all(isinstance(r, str) and ":" in r for r in refs_list):
            problems.add('expected "module:function" or a list of them', f"{key}.handlers.{pattern}")
            continue
        handlers[str(pattern)] = tuple(refs_list)

    def get(name: str, kind: str, default: Any) -> Any:
        if name not in raw:
            return default
        with problems.collect():
            return _convert(kind, raw[name], f"{key}.{name}", cx.strict)
        return default

    max_body = get("max_body", "size", default_max_body)
    retry = RetryPolicy(
        max_attempts=get("max_attempts", "attempts", default_retry.max_attempts),
        delay=get("retry_delay", "duration", default_retry.delay),
        max_delay=get("retry_max_delay", "duration", default_retry.max_delay),
    )
    store_payload = get("store_payload", "bool", default_store_payload)
    ordering: Ordering | None = None
    if "order_by" in raw:  # ordering by resource (hookinbox/ordering.py, docs/ordering.md)
        with problems.collect():
            ordering = Ordering.from_options(
                raw["order_by"],
                raw.get("order_seq"),
                raw.get("on_stale", "skip"),
                envelope.timestamp if envelope is not None else None,
                key,
            )
    else:
        for name in ("order_seq", "on_stale"):
            if name in raw:
                problems.add("only with order_by", f"{key}.{name}")
    if len(problems) > before or verifier is None or envelope is None:
        return None
    sensitive = frozenset({"authorization", "cookie", "proxy-authorization"}) | verifier.sensitive_headers
    return EndpointSettings(
        name=cx.name,
        path=path,
        verifier=verifier,
        envelope=envelope,
        handlers=handlers,
        max_body=max_body,
        retry=retry,
        store_payload=store_payload,
        preset=preset,
        sensitive_headers=sensitive,
        ordering=ordering,
    )


def _tenant_verifier(key: str, raw: Mapping[str, Any], verify: dict[str, Any]) -> TenantVerifier:
    """The verifier of an endpoint with ``secret_resolver``: no fixed secret may be given as well."""
    given = [k for k in ("secret", "secrets", "api_key", "api_keys") if k in raw]
    given += [f"verify.{k}" for k in ("secrets", "keys") if k in verify]
    if given:
        raise ConfigurationError("give either a secret or a secret_resolver, not both", key=f"{key}.{given[0]}")
    return TenantVerifier.from_settings(raw, verify, str(verify.get("scheme", "")).lower(), key)


def _secrets(
    cx: _EndpointContext, raw: Mapping[str, Any], verify: dict[str, Any], preset: Preset | None
) -> dict[str, Any]:
    """The ``verify`` options with ``secrets`` filled from ``secret``/``secrets``/``api_key(s)`` and checked.

    A secret that is empty, blank, or only a known prefix (``whsec_``, ``sha256=``...) after
    expansion is refused on every scheme: it would let anyone sign.
    """
    key = cx.key
    scheme = str(verify.get("scheme", "")).lower()
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
    walker = cx.walker
    missing = walker.missing.get(secret_key, []) or walker.missing.get(f"{key}.verify.secrets", [])
    hint = f"; set {' or '.join(dict.fromkeys(missing))}" if missing else ""
    if not any(secrets):
        raise ConfigurationError(f"empty{hint}", key=secret_key)
    if len(secrets) > len([s for s in secrets if s]):
        cx.problems.dropped.add(secret_key)
    kept = [s for s in secrets if s]
    prefix = verify.get("prefix")
    for secret in kept:
        problem = secret_problem(secret, [prefix] if isinstance(prefix, str) else [])
        if problem:
            raise ConfigurationError(f"{problem}{hint}", key=secret_key)
    if cx.strict and secret_key in walker.literal:
        env = preset.secret_env if preset else f"{cx.name.upper().replace('-', '_')}_WEBHOOK_SECRET"
        cx.problems.notes.append(
            f"{cx.source}: {toml_location(secret_key)}: the secret is written in the file; keep it out of "
            f'version control with {secret_key.rsplit(".", 1)[-1]} = "${{{env}}}" and the variable set '
            "in the environment"
        )
    tolerance = verify.get("tolerance")
    if (
        cx.strict
        and isinstance(tolerance, (int, float))
        and not isinstance(tolerance, bool)
        and math.isfinite(tolerance)
        and tolerance
    ):
        raise ConfigurationError(
            f"{tolerance!r} has no unit; write it as '{tolerance:g}s' or '{tolerance / 60:g}m'",
            key=f"{key}.verify.tolerance",
        )
    verify["secrets"] = kept
    return verify
