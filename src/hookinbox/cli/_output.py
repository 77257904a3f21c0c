"""Readable tables and JSON for the commands' output."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from hookinbox.events import EventRecord

__all__ = ["echo", "err", "event_rows", "print_json", "table", "when"]


def echo(text: str = "") -> None:
    print(text, file=sys.stdout, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def print_json(obj: Any) -> None:
    echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def when(ts: float | None) -> str:
    """A Unix time as UTC ``2026-01-15 12:30:00Z`` (empty for None)."""
    if ts is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(ts))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, max_width: int = 48) -> str:
    """Left-aligned columns separated by two spaces, cells cut at ``max_width``."""
    cells = [[_cut(str(c), max_width) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


EVENT_HEADERS = ("RECEIVED", "ENDPOINT", "ID", "TYPE", "STATUS", "ATTEMPTS", "LAST ERROR")


def event_rows(records: Sequence[EventRecord]) -> list[list[Any]]:
    """One row per record: never the body; only the last line of the error (the exception)."""
    rows: list[list[Any]] = []
    for r in records:
        error = (r.last_error or "").strip().splitlines()
        rows.append(
            [when(r.received_at), r.endpoint, r.id, r.type, r.status.value, r.attempts, error[-1] if error else ""]
        )
    return rows
