"""What the pages show: filters from a query string, keyset cursors in URLs, masked headers, times."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

from hookinbox.events import Status
from hookinbox.stores._query import Cursor

__all__ = [
    "FILTER_NAMES",
    "age",
    "decode_cursor",
    "encode_cursor",
    "filters_from",
    "mask_headers",
    "pretty_body",
    "when",
]

FILTER_NAMES = ("endpoint", "status", "type", "id", "since", "until")

#: header names whose values are never shown: signatures, secrets, tokens, credentials
_SECRET = re.compile(r"sign|secret|token|auth|key|cookie|password|hmac|digest|credential|session|sig$", re.I)

MASK = "•••• (hidden)"


def mask_headers(headers: dict[str, str]) -> list[tuple[str, str]]:
    """The headers sorted by name, with the value of any secret-looking one replaced."""
    return [(k, MASK if _SECRET.search(k) else v) for k, v in sorted(headers.items())]


def pretty_body(body: bytes | None, limit: int = 200_000) -> str | None:
    """The body as text: indented when it is JSON; None when there is none."""
    if body is None:
        return None
    text = body[:limit].decode("utf-8", "replace")
    try:
        text = json.dumps(json.loads(body), indent=2, ensure_ascii=False, sort_keys=False)[:limit]
    except ValueError:
        pass
    return text + ("\n… (cut)" if len(body) > limit else "")


def when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def age(seconds: float | None) -> str:
    """``42 s``, ``3 min 12 s``, ``5 h 02 min``, ``2 d 3 h``."""
    if seconds is None:
        return ""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def parse_time(text: str | None) -> float | None:
    """A UTC time from a form (``2026-12-06T20:15`` as ``<input type=datetime-local>`` sends) or Unix seconds."""
    if not text:
        return None
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def time_input(ts: float | None) -> str:
    """The value of a datetime-local input for ``ts`` (UTC)."""
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M")


def filters_from(query: dict[str, str]) -> dict[str, Any]:
    """The store's listing keyword arguments from a page's query string (unknown values ignored)."""
    out: dict[str, Any] = {}
    if query.get("endpoint"):
        out["endpoint"] = query["endpoint"]
    if query.get("status") in {s.value for s in Status}:
        out["status"] = Status(query["status"])
    if query.get("type"):
        out["type"] = query["type"]
    if query.get("id"):
        out["id_prefix"] = query["id"]
    for name in ("since", "until"):
        t = parse_time(query.get(name))
        if t is not None:
            out[name] = t
    return out


def filter_query(query: dict[str, str]) -> dict[str, str]:
    """The filter part of a query string, to carry into links and forms."""
    return {k: query[k] for k in FILTER_NAMES if query.get(k)}


def encode_cursor(c: Cursor) -> str:
    return base64.urlsafe_b64encode(json.dumps([c[0], c[1], c[2]]).encode()).rstrip(b"=").decode()


def decode_cursor(text: str | None) -> Cursor | None:
    """The cursor of a ``before=`` link, or None for a missing or malformed one."""
    if not text:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        return None
    if (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], int | float)
        and isinstance(value[1], str)
        and isinstance(value[2], str)
    ):
        return (float(value[0]), value[1], value[2])
    return None
