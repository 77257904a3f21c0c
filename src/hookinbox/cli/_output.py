"""Readable tables and JSON for the commands' output."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from hookinbox.events import EventRecord

__all__ = ["echo", "err", "event_rows", "plural", "print_json", "record_json", "table", "when"]


def echo(text: str = "") -> None:
    print(text, file=sys.stdout, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def print_json(obj: Any) -> None:
    echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def when(ts: float | None) -> str:
    """A Unix time as ISO 8601 in UTC with its zone, ``2026-01-15T12:30:00Z`` (empty for None)."""
    if ts is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


#: the fields of a record's JSON view that hold Unix times
_TIMES = ("received_at", "next_attempt_at", "lease_until", "updated_at", "started_at", "finished_at")


def iso(ts: float | None) -> str | None:
    """ISO 8601 with the zone and milliseconds, ``2026-01-15T12:30:00.250Z``; None stays None."""
    if ts is None:
        return None
    whole = int(ts // 1)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((ts - whole) * 1000):03d}Z"


def record_json(record: EventRecord, *, with_body: bool = False) -> dict[str, Any]:
    """A record's JSON view with every time in ISO 8601 (UTC, ``Z``), as the tables show them."""
    out = record.to_dict(with_body=with_body)
    for name in _TIMES:
        if isinstance(out.get(name), (int, float)):
            out[name] = iso(out[name])
    for attempt in out.get("history") or []:
        if isinstance(attempt, dict):
            for name in _TIMES:
                if isinstance(attempt.get(name), (int, float)):
                    attempt[name] = iso(attempt[name])
    return out


def plural(n: int, word: str) -> str:
    """``1 event``, ``2 events``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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
