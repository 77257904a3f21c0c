"""JSON log lines: one object per record, with the delivery's fields and its trace.

``hookinbox serve --log-json`` (or ``log_format = "json"`` in the settings) installs
:class:`JsonFormatter` on the root handler. In your own application, name it in your logging
configuration instead, e.g. in Django::

    LOGGING = {
        "version": 1,
        "formatters": {"json": {"()": "hookinbox.jsonlog.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["console"], "level": "INFO"},
    }

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, then, while a delivery
or a handler is running, ``endpoint``, ``scheme``, ``event_type``, ``event_id``, ``handler``,
``attempt`` (the same names as the span attributes), any ``extra=`` fields of the record, and
``trace_id``/``span_id`` when an OpenTelemetry span is current. Values are escaped by
:func:`json.dumps`, so a header or an id cannot forge a line. Bodies and secrets are never among the
fields.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from hookinbox import _tracing

__all__ = ["JsonFormatter"]

#: the attributes every LogRecord has; anything else on a record came from ``extra=``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats each record as one JSON object (see the module docstring for the fields)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _tracing.enable_log_fields()  # the flows now fill the fields, with or without OpenTelemetry

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = _tracing.log_fields()
        if fields:
            out.update(fields)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        ids = _tracing.current_ids()
        if ids is not None:
            out["trace_id"], out["span_id"] = ids
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=repr)


def _iso(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"
