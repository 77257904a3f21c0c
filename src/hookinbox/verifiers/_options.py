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
    secrets = [s.encode("utf-8") for s in raw if s]
    if not secrets:
        raise ConfigurationError("empty", key=f"{key}.{name}")
    return secrets
