"""Ordering by resource: where an event's resource and its place in time are, and how to read them.

Providers do not promise order (Stripe, Shopify and GitHub all say so), so a handler that updates
one resource from its events needs "apply only if newer". An endpoint that sets ``order_by``
(the path of the resource's id in the event, ``data.object.id``) gets it from the inbox: at receive
time each event's *order key* (the resource) and *order seq* (its own timestamp or sequence number,
``order_seq``, by default the envelope's ``timestamp`` field) are read and recorded with it; the
store then hands out the events of one key one at a time, in ``(order_seq, received_at, id)``
order, and an event older than the newest one handled for its key is ``stale``: its handlers do
not run (``on_stale = "skip"``, the default) or run with ``event.stale = True`` (``"run"``).
See docs/ordering.md for the guarantees and their limits. Pure: no I/O, no framework.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hookinbox.envelope import MAX_KEY_LENGTH, lookup
from hookinbox.errors import ConfigurationError

__all__ = ["ON_STALE", "Ordering", "parse_seq"]

#: what ``on_stale`` may say
ON_STALE = ("skip", "run")

_HEADER = "header:"
_MISSING = object()


def parse_seq(value: Any) -> float | None:
    """An event's place in time as a float, or None when it has none that can be compared.

    Numbers as they are (a sequence number, a Unix time); a numeric string likewise; any other
    string as an ISO 8601 time (``2026-12-06T23:11:52Z``, ``...+01:00``; a time without a zone is
    UTC) in Unix seconds. Booleans, NaN and infinities are not places in time. Integers beyond 2**53
    lose precision as floats: a sequence that large should be a time instead.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seq = float(value)
        return seq if math.isfinite(seq) else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        seq = float(text)
    except ValueError:
        pass
    else:
        return seq if math.isfinite(seq) else None
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "zZ" else text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _read(spec: str, payload: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
    if spec.startswith(_HEADER):
        return headers.get(spec[len(_HEADER) :], _MISSING)
    return lookup(payload, spec, _MISSING)


@dataclass(frozen=True, slots=True)
class Ordering:
    """One endpoint's ordering: ``key`` and ``seq`` are dotted paths in the event, or ``header:Name``."""

    key: str
    seq: str
    on_stale: str = "skip"

    @classmethod
    def from_options(cls, order_by: Any, order_seq: Any, on_stale: Any, timestamp: str | None, where: str) -> Ordering:
        """Build from an endpoint's ``order_by``/``order_seq``/``on_stale``; ``timestamp`` is the envelope's
        timestamp path (the default ``order_seq``). ConfigurationError names the key at fault."""
        if not isinstance(order_by, str) or not order_by.strip():
            raise ConfigurationError(
                "expected the path of the resource's id in the event (data.object.id) or header:Name",
                key=f"{where}.order_by",
            )
        seq = order_seq if order_seq is not None else timestamp
        if not isinstance(seq, str) or not seq.strip():
            raise ConfigurationError(
                "order_by needs order_seq: the path of the event's own timestamp or sequence number "
                "(the envelope has no timestamp field to use)",
                key=f"{where}.order_seq",
            )
        if on_stale not in ON_STALE:
            raise ConfigurationError(
                f"expected one of {', '.join(ON_STALE)}, got {on_stale!r}", key=f"{where}.on_stale"
            )
        return cls(key=_spec(order_by), seq=_spec(seq), on_stale=on_stale)

    def place(self, payload: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[str, float] | None:
        """``(order_key, order_seq)`` of an event, or None when it lacks either (it is then unordered).

        A key is a non-empty string or an integer, at most 255 characters, without NUL; anything else
        (an object, a list, a float) names no resource, and the event is handled unordered.
        """
        key = _read(self.key, payload, headers)
        if isinstance(key, bool) or not isinstance(key, str | int):
            return None
        text = str(key)
        if not text or len(text) > MAX_KEY_LENGTH or "\x00" in text:
            return None
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: no store keeps it
                return None
        seq = parse_seq(_read(self.seq, payload, headers))
        if seq is None:
            return None
        return text, seq


def _spec(value: str) -> str:
    """A path as written, or ``header:Name`` with the header's name lower-cased (headers arrive so)."""
    value = value.strip()
    if value.lower().startswith(_HEADER):
        return _HEADER + value[len(_HEADER) :].strip().lower()
    return value
