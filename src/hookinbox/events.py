"""The event as handlers see it, and the record a store keeps."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Attempt", "Event", "EventRecord", "ProcessInfo", "Status"]


class Status(enum.StrEnum):
    """Life cycle of an accepted event in the inbox.

    ``pending`` → ``processing`` (claimed under a lease) → ``done``; a failed
    attempt goes to ``failed`` with ``next_attempt_at`` and is claimed again
    when due; after ``max_attempts`` it is ``dead`` and waits for a replay.

    ``stale``: an event of an endpoint ordered by resource (``order_by``) that came after a newer
    event of the same resource was handled; finished, its handlers not run (or run with
    ``event.stale``), replayable. See docs/ordering.md.
    """

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"
    STALE = "stale"


FINISHED = frozenset({Status.DONE, Status.DEAD, Status.STALE})


@dataclass(frozen=True, slots=True)
class Attempt:
    """One run of an event's handlers, as kept in :attr:`EventRecord.history` (newest last).

    ``outcome`` is ``done``, ``retry``, ``dead``, ``stale`` or ``released`` (given back: shutdown, or its process
    was presumed dead); ``error`` is the exception type and message, never the body; ``process`` is the
    id of the process that ran it (see :class:`ProcessInfo`), when the store knows it.
    """

    number: int
    started_at: float
    finished_at: float
    outcome: str
    error: str | None = None
    process: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "outcome": self.outcome,
            "error": self.error,
            "process": self.process,
        }


@dataclass(slots=True)
class ProcessInfo:
    """A process that claims events, as registered in a durable store (heartbeats).

    ``kind`` is ``web`` (an in-process executor), ``celery``, ``rq``, ``django`` or ``worker``.
    """

    id: str
    host: str
    pid: int
    kind: str
    started_at: float
    last_heartbeat: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "kind": self.kind,
            "started_at": self.started_at,
            "last_heartbeat": self.last_heartbeat,
        }


@dataclass(slots=True)
class EventRecord:
    """What a store keeps for one accepted event, keyed by ``(endpoint, id)``.

    ``body`` is the exact bytes received (``None`` once purged, or when the
    endpoint has ``store_payload = false``). ``headers`` never holds the
    authentication header, cookies or ``Authorization``.
    """

    endpoint: str
    id: str
    type: str
    body: bytes | None
    headers: dict[str, str]
    received_at: float
    timestamp: str | None = None
    status: Status = Status.PENDING
    attempts: int = 0
    next_attempt_at: float | None = None
    lease_until: float | None = None
    last_error: str | None = None
    handlers_done: list[str] = field(default_factory=list)
    updated_at: float = 0.0
    #: past attempts, oldest first, where the store keeps them (empty otherwise)
    history: list[Attempt] = field(default_factory=list)
    #: the process holding the claim while ``processing`` (heartbeats), where the store keeps it
    owner: str | None = None
    #: the resource this event is ordered by (the endpoint's ``order_by``), None when unordered
    order_key: str | None = None
    #: its place among the events of ``order_key`` (the endpoint's ``order_seq``: a number or a time)
    order_seq: float | None = None
    #: set by ``claim_ordered`` (not stored): a newer event of ``order_key`` was handled already
    stale: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.endpoint, self.id)

    def to_dict(self, *, with_body: bool = False) -> dict[str, Any]:
        """A JSON-friendly view (for the CLI and logs); the body only on request."""
        out: dict[str, Any] = {
            "endpoint": self.endpoint,
            "id": self.id,
            "type": self.type,
            "status": self.status.value,
            "attempts": self.attempts,
            "received_at": self.received_at,
            "timestamp": self.timestamp,
            "next_attempt_at": self.next_attempt_at,
            "lease_until": self.lease_until,
            "last_error": self.last_error,
            "handlers_done": list(self.handlers_done),
            "updated_at": self.updated_at,
            "headers": dict(self.headers),
        }
        if self.order_key is not None:
            out["order_key"] = self.order_key
            out["order_seq"] = self.order_seq
        if with_body:
            out["body"] = None if self.body is None else self.body.decode("utf-8", "replace")
        return out


@dataclass(slots=True)
class Event:
    """One webhook event, as passed to handlers.

    ``payload`` is the whole parsed JSON object and ``data`` the part the
    endpoint's envelope names (``data``, ``event_data``, ...). ``attempt`` is
    1 on the first run of the handlers and grows with each retry.
    """

    id: str
    type: str
    endpoint: str
    data: Any
    payload: dict[str, Any]
    headers: dict[str, str]
    received_at: float
    attempt: int = 1
    timestamp: str | None = None
    body: bytes | None = None
    #: True when a newer event of the same resource was handled before this one, and the endpoint
    #: asks to run its handlers anyway (``on_stale = "run"``), or the stale event was replayed
    stale: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.endpoint, self.id)

    def __repr__(self) -> str:  # never print payloads: they may be medical or payment data
        return f"Event(endpoint={self.endpoint!r}, id={self.id!r}, type={self.type!r}, attempt={self.attempt})"

    @classmethod
    def from_record(cls, record: EventRecord, data_path: str | None, payload: dict[str, Any] | None = None) -> Event:
        """Rebuild the event a handler sees from a stored record (re-parsing the body if needed)."""
        from hookinbox.envelope import lookup

        if payload is None:
            payload = json.loads(record.body) if record.body else {}
        data = lookup(payload, data_path) if data_path else payload
        return cls(
            id=record.id,
            type=record.type,
            endpoint=record.endpoint,
            data=data,
            payload=payload,
            headers=dict(record.headers),
            received_at=record.received_at,
            attempt=record.attempts or 1,
            timestamp=record.timestamp,
            body=record.body,
        )
