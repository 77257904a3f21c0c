"""Parsing of human durations (``30s``, ``7d``) and sizes (``1MB``).

Both are finite and never negative: ``nan`` and ``inf`` (TOML has both) are refused, since a
``nan`` tolerance would make every timestamp comparison false and let any replay through.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_duration", "parse_size"]

# ASCII digits only: str.isdigit() and \d accept "²" or "٣", which int()/float() then refuse or misread.
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|w)?\s*$", re.ASCII)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE | re.ASCII)
_SIZE_UNITS = {
    None: 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}

DURATION_FORMS = "'250ms', '30s', '5m', '2h' or '7d'"


def parse_duration(value: object, *, bare_numbers: bool = True) -> float:
    """Seconds from ``30``, ``1.5``, ``"250ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"7d"``, ``"1w"``.

    With ``bare_numbers=False`` (settings files), a number without a unit (``7``, ``"7"``) is
    refused: ``dedup_ttl = 7`` meant as days must not silently be seven seconds.
    Raises :class:`ValueError` with the accepted forms on anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as {DURATION_FORMS}, got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"a duration must be a finite number, got {value!r}")
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        if not bare_numbers and value != 0:
            raise ValueError(f"{value!r} has no unit; write it as '{value:g}s' (or '{value:g}m', '{value:g}d', ...)")
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            if not bare_numbers and m.group(2) is None and float(m.group(1)) != 0:
                raise ValueError(f"{value!r} has no unit; write it as '{m.group(1)}s' (or 'm', 'h', 'd')")
            seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
            if math.isfinite(seconds):
                return seconds
    raise ValueError(f"expected a duration such as {DURATION_FORMS}, got {value!r}")


def parse_size(value: object) -> int:
    """Bytes from ``1024``, ``"512KB"``, ``"1MB"``, ``"1MiB"`` (KB/MB/GB are powers of 1000)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as '1MB', got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative, got {value!r}")
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            unit = m.group(2).lower() if m.group(2) else None
            size = float(m.group(1)) * _SIZE_UNITS[unit]
            if math.isfinite(size):
                return int(size)
    raise ValueError(f"expected a size such as '64KB', '1MB' or '1MiB', got {value!r}")
