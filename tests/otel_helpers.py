"""The OpenTelemetry SDK's in-memory exporter behind the global tracer provider, per test.

The global provider can be set once per process, so it is set on first use with a processor that
forwards finished spans to the exporter of the test that is capturing (none: spans are dropped).
"""

from __future__ import annotations

import threading
from typing import Any

from tests.conftest import require_module

_lock = threading.Lock()
_state: dict[str, Any] = {"exporter": None, "installed": False}


def capture() -> Any:
    """A fresh ``InMemorySpanExporter`` that receives every span finished until :func:`release`."""
    require_module("opentelemetry.sdk")
    from opentelemetry import trace
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    class Forward(SpanProcessor):  # type: ignore[misc]
        def on_end(self, span: Any) -> None:
            exporter = _state["exporter"]
            if exporter is not None:
                exporter.export([span])

    with _lock:
        if not _state["installed"]:
            provider = TracerProvider()
            provider.add_span_processor(Forward())
            trace.set_tracer_provider(provider)
            _state["installed"] = True
        exporter = InMemorySpanExporter()
        _state["exporter"] = exporter
    return exporter


def release() -> None:
    with _lock:
        _state["exporter"] = None


def by_name(spans: Any, name: str) -> list[Any]:
    return [s for s in spans if s.name == name]
