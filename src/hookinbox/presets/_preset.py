"""The :class:`Preset` record: one provider's verify and envelope settings, taken from its docs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Preset"]


@dataclass(frozen=True)
class Preset:
    name: str
    provider: str
    doc: str
    verify: dict[str, Any]
    #: where the id, type, timestamp and data are (an endpoint's ``event`` table; see :class:`Envelope`)
    envelope: dict[str, Any]
    #: seconds within which the provider wants a 2xx
    ack_budget: float
    #: delays between the provider's delivery attempts, in seconds
    retry_schedule: tuple[float, ...]
    #: the environment variable the docs and examples use for the secret
    secret_env: str
    samples: tuple[dict[str, Any], ...] = field(default=())
    notes: str = ""
    #: for providers that put the event id or type in headers: the headers sent with each
    #: sample (same order as ``samples``), signature headers excluded
    sample_headers: tuple[dict[str, str], ...] = field(default=())

    @property
    def retry_horizon(self) -> float:
        """Seconds from the first attempt to the last retry."""
        return float(sum(self.retry_schedule))

    def sample(self, event_type: str | None = None) -> dict[str, Any]:
        """The doc's example payload for ``event_type`` (the first one when None)."""
        import copy

        for s in self.samples:
            if event_type is None or self.event_type_of(s) == event_type:
                return copy.deepcopy(s)
        raise KeyError(event_type)

    def event_type_of(self, payload: dict[str, Any], headers: dict[str, str] | None = None) -> str:
        from hookinbox.envelope import lookup

        header = self.envelope.get("type_header")
        if header:
            sent = {k.lower(): v for k, v in (self.headers_of(payload) if headers is None else headers).items()}
            return str(sent.get(str(header).lower(), ""))
        return str(lookup(payload, self.envelope.get("type") or "type"))

    def headers_of(self, payload: dict[str, Any]) -> dict[str, str]:
        """The (non-signature) headers the provider sends with a sample payload; ``{}`` if none."""
        for sample, headers in zip(self.samples, self.sample_headers, strict=False):
            if sample == payload:
                return dict(headers)
        return {}

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(self.event_type_of(s) for s in self.samples)
