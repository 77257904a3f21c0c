"""``hookinbox check``: validate the settings, import the handlers, reach the store.

Prints one line per check (``ok:`` or ``error:``) and exits 1 when any
failed, so it fits a deploy pipeline or a container's start-up probe.
"""

from __future__ import annotations

from typing import Any

from hookinbox.cli._context import CommandError, Context, reach_store, redact
from hookinbox.cli._output import echo, err
from hookinbox.errors import ConfigurationError

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="validate the settings, import the handlers and reach the store")
    p.set_defaults(run=run)


def run(ctx: Context) -> int:
    try:
        inbox = ctx.inbox()
    except (ConfigurationError, CommandError) as exc:
        err(f"error: settings: {exc}")
        return 1
    s = inbox.settings
    echo(f"ok: settings {s.source}: {len(s.endpoints)} endpoint(s)")
    for ep in s.endpoints.values():
        preset = f"preset {ep.preset.name}" if ep.preset else "custom verify"
        echo(f"      {ep.name}: POST {ep.path} ({preset})")
    problems = 0
    try:
        inbox.load_handlers()
    except ConfigurationError as exc:
        err(f"error: handlers: {exc}")
        problems += 1
    else:
        count = sum(len(refs) for ep in s.endpoints.values() for refs in ep.handlers.values())
        echo(f"ok: handlers: {count} imported")
        in_code = len(inbox.registry) - count  # registered with @inbox.on
        if in_code:
            echo(f"ok: handlers: {in_code} registered in code")
        for ep in s.endpoints.values():
            if not ep.handlers and not in_code:
                echo(f"note: endpoint {ep.name} has no handlers: its events are recorded and marked done")
    for ep in s.endpoints.values():  # per-tenant secrets: import the resolver now, not at the first delivery
        load = getattr(ep.verifier, "load", None)
        if load is not None:
            try:
                load()
            except ConfigurationError as exc:
                err(f"error: secret resolver: {exc}")
                problems += 1
            else:
                echo(f"ok: secret resolver of {ep.name} imported")
    try:
        stats = reach_store(inbox)
    except (CommandError, ConfigurationError) as exc:
        err(f"error: {exc}")
        problems += 1
    else:
        total = sum(sum(by_status.values()) for by_status in stats.values())
        kind = "durable" if inbox.store.durable else "in memory: nothing survives the process"
        echo(f"ok: store {redact(s.store)} ({kind}): {total} event(s)")
    if problems:
        err(f"{problems} problem(s)")
        return 1
    return 0
