"""Small helpers shared by verifier factories to read their options."""

from __future__ import annotations

from typing import Any

from hookinbox.errors import ConfigurationError


def take(options: dict[str, Any], allowed: set[str], key: str) -> None:
    """Refuse options a scheme does not know (a typo must not silently disable a check)."""
    unknown = set(options) - allowed - {"scheme"}
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) {', '.join(sorted(unknown))}; this scheme takes {', '.join(sorted(allowed))}",
            key=key,
        )


def header_name(options: dict[str, Any], default: str | None, key: str) -> str:
    header = options.get("header", default)
    if not isinstance(header, str) or not header.strip():
        raise ConfigurationError("missing; the HTTP header that carries the credential", key=f"{key}.header")
    return header.strip().lower()


#: what a secret often starts with; a "secret" that is only one of these (``whsec_${UNSET}``) signs nothing secret
KNOWN_PREFIXES = (
    "whsec_",
    "whsec",
    "sha1=",
    "sha256=",
    "sha512=",
    "v0=",
    "v0:",
    "v1=",
    "v1,",
    "t=",
    "bearer",
    "basic",
    "token",
    "sk_live_",
    "sk_test_",
    "shpss_",
    "xoxb-",
    "xoxp-",
)


def secret_problem(secret: str, prefixes: list[str] | tuple[str, ...] = ()) -> str | None:
    """Why ``secret`` cannot be a key (empty, blank, only a known prefix), or None when it can."""
    stripped = secret.strip()
    if not stripped:
        return "blank (only whitespace)" if secret else "empty"
    known = {p.strip().lower() for p in (*KNOWN_PREFIXES, *prefixes) if p.strip()}
    if stripped.lower() in known:
        return f"only the prefix {stripped!r}: the secret after it is missing"
    return None


def secret_list(options: dict[str, Any], key: str, *, name: str = "secrets") -> list[bytes]:
    """The non-empty secrets, as bytes; an empty list is a configuration error.

    ``options[name]`` may be a string or a list of strings. Empty strings (an
    unset ``${VAR}``) are dropped; if none is left the error names the
    environment variables that would have supplied them.
    """
    raw = options.get(name)
    if raw is None:
        raw = []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise ConfigurationError("expected a string or a list of strings", key=f"{key}.{name}")
    kept = [s for s in raw if s]
    if not kept:
        raise ConfigurationError("empty", key=f"{key}.{name}")
    prefix = options.get("prefix")
    for s in kept:
        problem = secret_problem(s, [prefix] if isinstance(prefix, str) else [])
        if problem:
            raise ConfigurationError(problem, key=f"{key}.{name}")
    return [s.encode("utf-8") for s in kept]
