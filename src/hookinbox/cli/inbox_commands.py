"""``hookinbox inbox``: look at and operate on the recorded events.

Only the :class:`~hookinbox.stores.Store` protocol and
:meth:`Inbox.replay` / :meth:`Inbox.replay_dead` are used, so these commands
work on every store, and with a store URL alone (``--store URL``): they need
neither the endpoints nor their secrets. Bodies are never printed unless ``show --body`` asks:
they may be medical or payment data.
"""

from __future__ import annotations

import time
from typing import Any

from hookinbox.cli._context import CommandError, Context
from hookinbox.cli._output import EVENT_HEADERS, echo, err, event_rows, plural, print_json, record_json, table, when
from hookinbox.events import EventRecord, Status
from hookinbox.units import parse_duration

__all__ = ["add_parser"]

_STATUSES = [s.value for s in Status]


def add_parser(sub: Any) -> None:
    group = sub.add_parser("inbox", help="list, show, replay and purge recorded events")
    actions = sub.nested(group, "action")

    p = actions.add_parser("list", help="recorded events, newest first")
    p.add_argument("--endpoint", "-e")
    p.add_argument("--status", "-s", choices=_STATUSES)
    p.add_argument("--type", "-t", help="exact event type")
    p.add_argument("--limit", "-n", type=int, default=50, help="at most this many (default 50)")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p.set_defaults(run=cmd_list)

    p = actions.add_parser("show", help="one event: status, attempts, error, headers (body with --body)")
    p.add_argument("id")
    p.add_argument("--endpoint", "-e", help="needed when the id is recorded under several endpoints")
    p.add_argument("--body", action="store_true", help="also print the body (may hold personal data)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_show)

    p = actions.add_parser("replay", help="run an event's handlers again (or every dead event with --dead)")
    p.add_argument("id", nargs="?")
    p.add_argument("--dead", action="store_true", help="replay every dead event")
    p.add_argument("--endpoint", "-e")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_replay)

    p = actions.add_parser("purge", help="delete finished events received before a given age")
    p.add_argument("--older-than", required=True, metavar="DURATION", help="e.g. 30d, 12h")
    p.add_argument(
        "--status", action="append", choices=_STATUSES, help="statuses to delete (repeatable; default done and dead)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_purge)

    p = actions.add_parser("stats", help="event counts per endpoint and status")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_stats)

    p = actions.add_parser("processes", help="processes that claim events: heartbeats, and which look dead")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_processes)


def cmd_list(ctx: Context) -> int:
    a = ctx.args
    if a.limit < 1:
        raise CommandError("--limit must be at least 1")
    endpoint = ctx.endpoint_name(a.endpoint)
    status = Status(a.status) if a.status else None
    records = ctx.store_inbox().store.list(endpoint=endpoint, status=status, type=a.type, limit=a.limit)
    if a.json:
        print_json([record_json(r) for r in records])
    elif records:
        echo(table(EVENT_HEADERS, event_rows(records)))
    else:
        echo("no events")
    return 0


def _find(ctx: Context, event_id: str, endpoint: str | None) -> EventRecord:
    store = ctx.store_inbox().store
    if endpoint is not None:
        found = store.get(endpoint, event_id)
        if found is None:
            raise CommandError(f"no event {event_id!r} in endpoint {endpoint!r}")
        return found
    records = store.find(event_id)
    if not records:
        raise CommandError(f"no event {event_id!r}")
    if len(records) > 1:
        names = ", ".join(r.endpoint for r in records)
        raise CommandError(f"event {event_id!r} is in several endpoints ({names}); give --endpoint")
    return records[0]


def cmd_show(ctx: Context) -> int:
    a = ctx.args
    record = _find(ctx, a.id, ctx.endpoint_name(a.endpoint))
    if a.json:
        print_json(record_json(record, with_body=a.body))
        return 0
    rows = [
        ("endpoint", record.endpoint),
        ("id", record.id),
        ("type", record.type),
        ("status", record.status.value),
        ("attempts", str(record.attempts)),
        ("received", when(record.received_at)),
        ("timestamp", record.timestamp or ""),
        ("next attempt", when(record.next_attempt_at)),
        ("handlers done", ", ".join(record.handlers_done)),
    ]
    for name, value in rows:
        echo(f"{name + ':':15}{value}")
    if record.last_error:
        echo("last error:")
        echo("  " + record.last_error.replace("\n", "\n  "))
    echo("headers:")
    for k, v in sorted(record.headers.items()):
        echo(f"  {k}: {v}")
    if a.body:
        echo("body:")
        echo(record.body.decode("utf-8", "replace") if record.body is not None else "  (not kept)")
    return 0


def cmd_replay(ctx: Context) -> int:
    a = ctx.args
    if a.dead == (a.id is not None):
        raise CommandError("give an event ID or --dead (not both)")
    endpoint = ctx.endpoint_name(a.endpoint)
    inbox = ctx.store_inbox()
    if a.dead:
        n = inbox.replay_dead(endpoint)
    else:
        _find(ctx, a.id, endpoint)  # a clear error for an unknown or ambiguous id
        n = inbox.replay(a.id, endpoint)
    if a.json:
        print_json({"replayed": n})
    elif n:
        s = inbox.settings
        echo(
            f"replayed {plural(n, 'event')}; a running receiver picks them up within "
            f"{s.recover_after + s.sweep_interval:g} s"
        )
    elif a.dead:
        where = f" in endpoint {endpoint!r}" if endpoint else ""
        echo(f"no dead events{where}: nothing to replay")
    if not n and not a.dead:
        err("nothing replayed: the event is being processed right now, or is already pending")
        return 1
    return 0


def cmd_purge(ctx: Context) -> int:
    a = ctx.args
    try:
        age = parse_duration(a.older_than)
    except ValueError as exc:
        raise CommandError(f"--older-than: {exc}") from None
    statuses = tuple(Status(s) for s in (a.status or ["done", "dead"]))
    n = ctx.store_inbox().store.purge(time.time() - age, statuses)
    if a.json:
        print_json({"purged": n})
    else:
        kinds = ", ".join(s.value for s in statuses)
        echo(f"purged {plural(n, 'event')} ({kinds}) received more than {a.older_than} ago")
    return 0


def cmd_stats(ctx: Context) -> int:
    a = ctx.args
    stats = ctx.store_inbox().store.stats()
    if a.json:
        print_json(stats)
        return 0
    rows = []
    for endpoint in sorted(stats):
        counts = stats[endpoint]
        rows.append([endpoint, *(counts.get(s, 0) for s in _STATUSES), sum(counts.values())])
    if not rows:
        echo("no events")
        return 0
    echo(table(["ENDPOINT", *(s.upper() for s in _STATUSES), "TOTAL"], rows))
    return 0


def cmd_processes(ctx: Context) -> int:
    """The store's process registry: who claims events, when each last heartbeat was, who looks dead."""
    inbox = ctx.inbox()
    store = inbox.store
    if not store.durable:
        echo("the memory store keeps no process registry: its events live and die with their one process")
        return 0
    now = time.time()
    timeout = inbox.settings.process_timeout
    procs = store.processes()
    rows = [
        {
            **p.to_dict(),
            "state": "alive" if now - p.last_heartbeat <= timeout else "presumed dead",
            "silent_for": round(now - p.last_heartbeat, 1),
        }
        for p in procs
    ]
    if ctx.args.json:
        print_json(rows)
        return 0
    if not rows:
        echo("no processes registered")
        return 0
    headers = ("id", "kind", "host", "pid", "started", "last heartbeat", "state")
    echo(
        table(
            headers,
            [
                (
                    r["id"],
                    r["kind"],
                    r["host"],
                    str(r["pid"]),
                    when(r["started_at"]),
                    f"{r['silent_for']:g} s ago",
                    r["state"],
                )
                for r in rows
            ],
        )
    )
    return 0
