"""``hookinbox check``: validate the settings, import the handlers, reach the store.

Prints one line per check (``ok:`` or ``error:``) and exits 1 when any
failed, so it fits a deploy pipeline or a container's start-up probe.
"""

from __future__ import annotations

from typing import Any

from hookinbox._settings_build import store_driver_problem
from hookinbox.cli._context import CommandError, Context, reach_store, redact
from hookinbox.cli._output import echo, err, plural
from hookinbox.errors import ConfigurationError, SettingsErrors

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="validate the settings, import the handlers and reach the store",
        description="Validate the settings (every mistake at once), import the handlers they name and reach the "
        "store. Prints ok:/warning:/error: lines; exits 1 when anything is wrong.",
    )
    p.set_defaults(run=run)


def run(ctx: Context) -> int:
    try:
        inbox = ctx.inbox()
    except SettingsErrors as many:
        for exc in many.errors:
            err(f"error: settings: {exc}")
        err(f"{plural(len(many.errors), 'problem')}")
        return 1
    except (ConfigurationError, CommandError) as exc:
        err(f"error: settings: {exc}")
        return 1
    s = inbox.settings
    echo(f"ok: settings {s.source}: {plural(len(s.endpoints), 'endpoint')}")
    for ep in s.endpoints.values():
        preset = f"preset {ep.preset.name}" if ep.preset else "custom verify"
        ordered = f"; ordered by {ep.ordering.key}, in {ep.ordering.seq} order" if ep.ordering else ""
        echo(f"      {ep.name}: POST {ep.path} ({preset}{ordered})")
    for note in s.notes:
        echo(f"warning: {note}")
    problems = 0
    try:
        inbox.load_handlers()
    except ConfigurationError as exc:
        err(f"error: handlers: {s.locate(exc)}")
        problems += 1
    else:
        count = sum(len(refs) for ep in s.endpoints.values() for refs in ep.handlers.values())
        in_code = len(inbox.registry) - count  # registered with @inbox.on
        if count:
            echo(f"ok: handlers: {count} imported")
        if in_code:
            echo(f"ok: handlers: {in_code} registered in code")
        if not count and not in_code and not ctx.given_inbox:
            # an app (Flask, Starlette, FastAPI, Django) registers its handlers in code, which `check` does not run
            echo(
                "note: no handlers named in the settings; handlers registered in your app's code "
                "(@inbox.on, hooks.on) are not imported by `hookinbox check`"
            )
        elif not count and not in_code:
            echo("note: no handlers: events are recorded and marked done")
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
    problems += _check_store(inbox)
    if problems:
        err(plural(problems, "problem"))
        return 1
    return 0


def _check_store(inbox: Any) -> int:
    s = inbox.settings
    if s.store.startswith("django:") and "django" not in _registered_stores():
        echo(
            "note: store django:// is the Django project's database; "
            "check it with `python manage.py hookinbox check` in the project"
        )
        return 0
    problem = store_driver_problem(s.store)
    if problem:
        err(f"error: store {redact(s.store)}: {problem}")
        return 1
    try:
        stats = reach_store(inbox)
    except (CommandError, ConfigurationError) as exc:
        err(f"error: {exc}")
        return 1
    total = sum(sum(by_status.values()) for by_status in stats.values())
    kind = "durable" if inbox.store.durable else "in memory: nothing survives the process"
    health = getattr(inbox.store, "health", None)  # optional in the Store protocol (SQL and Redis have it)
    if health is not None:
        try:
            status = health()
        except Exception as exc:  # a probe that fails is an unhealthy store, never a traceback
            err(f"error: store {redact(s.store)}: health probe failed: {type(exc).__name__}")
            return 1
        if not status.ok:
            err(f"error: store {redact(s.store)} ({kind}): unhealthy: {status.reason}")
            return 1
    if inbox.store.durable:  # reading is not enough: a store can answer reads and refuse writes
        probe = inbox.runtime.new_identity("check")
        try:
            inbox.store.register_process(probe)
            inbox.store.deregister_process(probe.id)
        except Exception as exc:  # never the message: driver errors may quote the URL
            err(f"error: store {redact(s.store)} ({kind}): unhealthy: writes fail: {type(exc).__name__}")
            return 1
    echo(f"ok: store {redact(s.store)} ({kind}): {plural(total, 'event')}")
    return 0


def _registered_stores() -> list[str]:
    from hookinbox.stores import _BACKENDS

    return list(_BACKENDS)
