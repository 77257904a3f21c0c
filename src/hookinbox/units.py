"""Parsing of human durations (``30s``, ``7d``) and sizes (``1MB``)."""

from __future__ import annotations

import re

__all__ = ["parse_duration", "parse_size"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
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


def parse_duration(value: object) -> float:
    """Seconds from ``30``, ``1.5``, ``"250ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"7d"``, ``"1w"``.

    Raises :class:`ValueError` with the accepted forms on anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as '30s' or '7d', got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    raise ValueError(f"expected a duration such as '250ms', '30s', '5m', '2h' or '7d', got {value!r}")


def parse_size(value: object) -> int:
    """Bytes from ``1024``, ``"512KB"``, ``"1MB"``, ``"1MiB"`` (KB/MB/GB are powers of 1000)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as '1MB', got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative, got {value!r}")
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            unit = m.group(2).lower() if m.group(2) else None
            return int(float(m.group(1)) * _SIZE_UNITS[unit])
    raise ValueError(f"expected a size such as '64KB', '1MB' or '1MiB', got {value!r}")
