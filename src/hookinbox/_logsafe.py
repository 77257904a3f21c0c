"""Log lines that a sender cannot forge: ids, types and other strings escaped before formatting.

An event id or type comes from the sender. Written into a log line as is, an
id holding a newline forges a second line (log injection), and a NUL or an
escape sequence garbles terminals. :func:`logsafe` escapes every character
that is not printable the way ``repr`` does (``"\\n"`` becomes the two
characters ``\\n``, a lone surrogate ``\\ud800``), and leaves printable text,
non-ASCII letters included, untouched.

:class:`LogSafeFilter` applies it to every string argument of a record, so
call sites keep writing ``log.info("accepted event %s", event_id)``;
:func:`install` attaches it once to each of hookinbox's loggers (a logger's
filters do not run for its children's records, hence one per name). It runs
when :mod:`hookinbox` is imported.
"""

from __future__ import annotations

import logging

__all__ = ["LOGGERS", "LogSafeFilter", "install", "logsafe"]

#: Every logger name hookinbox logs under (a test checks that the source uses no other).
LOGGERS = (
    "hookinbox",
    "hookinbox.asgi",
    "hookinbox.wsgi",
    "hookinbox.django",
    "hookinbox.processing",
    "hookinbox.executor",
    "hookinbox.liveness",
    "hookinbox.dashboard",
    "hookinbox.worker",
    "hookinbox.store",
    "hookinbox.serve",
)


def logsafe(value: str) -> str:
    """``value`` with each non-printable character escaped as ``repr`` would (``\\n``, ``\\x00``, ``\\ud800``)."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


class LogSafeFilter(logging.Filter):
    """Escapes the string arguments of each record (see :func:`logsafe`); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            if any(type(a) is str and not a.isprintable() for a in args):
                record.args = tuple(logsafe(a) if type(a) is str else a for a in args)
        return True


_FILTER = LogSafeFilter()


def install() -> None:
    """Attach the filter to every hookinbox logger (idempotent)."""
    names = set(LOGGERS) | {n for n in logging.root.manager.loggerDict if n.startswith("hookinbox")}
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
