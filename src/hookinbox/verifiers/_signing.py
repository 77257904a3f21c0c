"""Pieces every signature scheme shares, written once.

* :func:`tolerance_option` and :func:`check_timestamp`: the replay window of
  schemes that sign a timestamp (default 5 minutes, ``tolerance = "5m"``);
  deliveries older or dated further in the future are refused with a reason.
* :func:`any_match`: the HMAC of one message under every candidate secret,
  compared with every signature the delivery carries, with no early exit, so
  the time taken does not say which secret (or which signature) matched.
* :func:`decode_hex`, :func:`decode_base64`, :func:`parse_pairs`: header parsing
  that never raises on hostile input (a bad candidate simply matches nothing).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hookinbox.errors import AuthenticationFailed, ConfigurationError
from hookinbox.units import parse_duration

__all__ = [
    "DEFAULT_TOLERANCE",
    "any_match",
    "check_timestamp",
    "decode_base64",
    "decode_hex",
    "header_value",
    "parse_pairs",
    "parse_timestamp",
    "tolerance_option",
]

#: Seconds a signed timestamp may differ from our clock (either way): 5 minutes, as Stripe,
#: Slack and Standard Webhooks recommend.
DEFAULT_TOLERANCE = 300.0

_STAMP = re.compile(r"^\d{1,12}(?:\.\d{1,9})?$")


#: ``tolerance = false`` / ``"off"``: no replay window (where a scheme allows it, as Stripe's library does)
OFF = ("off", "none", "false")


def tolerance_option(options: Mapping[str, Any], key: str, *, can_be_off: bool = False) -> float:
    """The ``tolerance`` option in seconds (``"5m"``, ``"90s"``, ``300``); 5 minutes by default.

    With ``can_be_off``, ``false`` or ``"off"`` turns the check off (``math.inf``).
    """
    value = options.get("tolerance", DEFAULT_TOLERANCE)
    if can_be_off and (value is False or (isinstance(value, str) and value.strip().lower() in OFF)):
        return math.inf
    try:
        tolerance = parse_duration(options.get("tolerance", DEFAULT_TOLERANCE))
    except ValueError as exc:
        raise ConfigurationError(str(exc), key=f"{key}.tolerance") from None
    if tolerance <= 0:
        raise ConfigurationError("must be more than 0 (the replay window)", key=f"{key}.tolerance")
    return tolerance


def header_value(headers: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    """The first of ``names`` present (non-empty) in ``headers``, as ``(name, value)``."""
    for name in names:
        value = headers.get(name)
        if value:
            return name, value
    return None


def parse_timestamp(stamp: str | None, header: str) -> float:
    """A Unix time in seconds from a header value; 401 when missing or malformed."""
    if not stamp:
        raise AuthenticationFailed(f"missing {header} header")
    stamp = stamp.strip()
    if not _STAMP.match(stamp):
        raise AuthenticationFailed(f"{header} is not a Unix time in seconds")
    return float(stamp)


def check_timestamp(sent: float, now: float, tolerance: float, header: str) -> None:
    """Refuse a signed time outside ``now ± tolerance`` (a replay, or a clock that is off); ``inf``: no check."""
    if math.isinf(tolerance):
        return
    if now - sent > tolerance:
        raise AuthenticationFailed(
            f"{header} is {int(now - sent)} s old, outside the {tolerance:g} s tolerance "
            "(a replayed delivery, or a clock that is off)"
        )
    if sent - now > tolerance:
        raise AuthenticationFailed(
            f"{header} is {int(sent - now)} s in the future, outside the {tolerance:g} s tolerance "
            "(a clock that is off)"
        )


def any_match(
    secrets: Iterable[bytes],
    message: bytes,
    candidates: list[bytes],
    digestmod: Callable[..., Any],
) -> bool:
    """True when the HMAC of ``message`` under any secret equals any candidate signature.

    Every secret is tried and every candidate compared with
    :func:`hmac.compare_digest`, even after a match (no early exit).
    """
    matched = False
    for secret in secrets:
        expected = hmac.new(secret, message, digestmod).digest()
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)
    return matched


def decode_hex(text: str) -> bytes | None:
    try:
        return bytes.fromhex(text.strip())
    except ValueError:
        return None


def decode_base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (ValueError, binascii.Error):
        return None


def parse_pairs(value: str, sep: str = ",", kv: str = "=") -> list[tuple[str, str]]:
    """``"t=1,v1=ab,v1=cd"`` → ``[("t", "1"), ("v1", "ab"), ("v1", "cd")]``; items without ``kv`` are skipped.

    Standard Webhooks writes ``"v1,<sig> v1,<sig>"``: ``sep=" ", kv=","``.
    """
    pairs: list[tuple[str, str]] = []
    for item in value.split(sep):
        name, eq, val = item.strip().partition(kv)
        if eq:
            pairs.append((name.strip(), val.strip()))
    return pairs
