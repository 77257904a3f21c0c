"""What the Redis store sends and reads back: index members, batch arguments, event hashes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hookinbox.events import Attempt, EventRecord, ProcessInfo, Status
from hookinbox.stores._base import attempt_from_dict

__all__ = [
    "claimed",
    "glob_escape",
    "member",
    "pack",
    "pack_process",
    "process_from_packed",
    "record_from_hash",
    "split_member",
]

Field = bytes | str | None


def member(endpoint: str, event_id: str) -> str:
    """The index member of a key: the endpoint escaped so that the first ``:`` separates it."""
    return endpoint.replace("%", "%25").replace(":", "%3A") + ":" + event_id


def split_member(m: bytes | str) -> tuple[str, str]:
    text = m.decode() if isinstance(m, bytes) else m
    ep, _, event_id = text.partition(":")
    return ep.replace("%3A", ":").replace("%25", "%"), event_id


def pack(rows: Iterable[Sequence[Field]]) -> bytes:
    """A batch as one script argument: every field ``<length>:<bytes>``, or ``-`` for None, row after row.

    Lengths count UTF-8 bytes, so any byte (``:`` and ``-`` included) may
    appear in a value; the scripts read it back with ``_redis_lua._FIELDS``.
    """
    parts: list[bytes] = []
    add = parts.append
    for row in rows:
        for v in row:
            if v is None:
                add(b"-")
                continue
            if isinstance(v, str):
                v = v.encode()
            add(b"%d:" % len(v))
            add(v)
    return b"".join(parts)


def record_row(rec: EventRecord) -> tuple[Field, ...]:
    """One item of ``RECORD_MANY``."""
    return (
        member(rec.endpoint, rec.id),
        repr(rec.received_at),
        rec.endpoint,
        rec.id,
        rec.type,
        json.dumps(rec.headers),
        rec.timestamp,
        rec.body,
        rec.order_key,
        None if rec.order_seq is None else repr(rec.order_seq),
    )


def glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


_STR: Callable[[Any], str | None] = lambda v: None if v is None else (v.decode() if isinstance(v, bytes) else str(v))  # noqa: E731


def claimed(flat: Any) -> EventRecord | None:
    """A claim script's answer for one event: its hash as a flat list, or 0 / nil when not claimed.

    ``CLAIM_ORDERED`` adds the pseudo-field ``stale`` (never stored) for :attr:`EventRecord.stale`.
    """
    if not flat:
        return None
    return record_from_hash(dict(zip(flat[::2], flat[1::2], strict=True)))


def _float(v: Any) -> float | None:
    return None if v is None or v == b"" else float(v)


def record_from_hash(h: dict[Any, Any]) -> EventRecord:
    g = {(k.decode() if isinstance(k, bytes) else k): v for k, v in h.items()}
    return EventRecord(
        endpoint=_STR(g["endpoint"]) or "",
        id=_STR(g["id"]) or "",
        type=_STR(g["type"]) or "",
        body=g.get("body"),
        headers=json.loads(g["headers"]),
        received_at=float(g["received_at"]),
        timestamp=_STR(g.get("timestamp")),
        status=Status(_STR(g["status"]) or "pending"),
        attempts=int(g["attempts"]),
        next_attempt_at=_float(g.get("next_attempt_at")),
        lease_until=_float(g.get("lease_until")),
        last_error=_STR(g.get("last_error")),
        handlers_done=list(json.loads(g["handlers_done"])),
        updated_at=float(g["updated_at"]),
        history=_history(g.get("history")),
        owner=_STR(g.get("owner")),
        order_key=_STR(g.get("order_key")),
        order_seq=_float(g.get("order_seq")),
        stale=_STR(g.get("stale")) == "1",
    )


def _history(v: Any) -> list[Attempt]:
    """The ``history`` field: one JSON object per line (see ``_redis_lua``)."""
    if not v:
        return []
    text = v.decode() if isinstance(v, bytes) else str(v)
    return [attempt_from_dict(json.loads(line)) for line in text.split("\n") if line]


def pack_process(info: ProcessInfo) -> str:
    """A process's value in the processes hash: ``<last_heartbeat>\\n<json>`` (the scripts read the first line)."""
    rest = {"id": info.id, "host": info.host, "pid": info.pid, "kind": info.kind, "started_at": info.started_at}
    return f"{info.last_heartbeat!r}\n{json.dumps(rest)}"


def process_from_packed(v: bytes | str) -> ProcessInfo:
    text = v.decode() if isinstance(v, bytes) else v
    first, _, rest = text.partition("\n")
    d = json.loads(rest)
    return ProcessInfo(
        id=d["id"],
        host=d["host"],
        pid=int(d["pid"]),
        kind=d["kind"],
        started_at=float(d["started_at"]),
        last_heartbeat=float(first),
    )
