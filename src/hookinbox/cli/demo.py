"""``hookinbox demo``: the README's first command.

Starts a real receiver (uvicorn, in this process) on a fresh SQLite inbox
with the example settings (five providers, demo secrets), sends one signed
example event from each provider over HTTP, waits until the example handlers
have run, prints the inbox and exits (or keeps serving with ``--serve``).
"""

from __future__ import annotations

import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import hookinbox
from hookinbox.cli._context import CommandError, Context, add_import_dir, reach_store
from hookinbox.cli._output import EVENT_HEADERS, echo, event_rows, plural, table
from hookinbox.cli.send import build_delivery, event_key, post
from hookinbox.cli.serve import _uvicorn, bind, build_app, setup_logging
from hookinbox.events import Status
from hookinbox.inbox import Inbox
from hookinbox.settings import Settings, load_settings

__all__ = ["add_parser", "example_settings_path", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="receive one signed example event from each of the five providers",
        description="Start a receiver on a fresh temporary SQLite inbox with the example settings, send one signed "
        "example event from each provider, wait until the handlers ran and print the inbox.",
        common_help={
            "config": "settings file (default: the example settings shipped with hookinbox)",
            "store": "store URL (default: a temporary SQLite file, deleted at exit)",
        },
    )
    p.add_argument("--port", type=int, default=0, help="port for the receiver (default: any free port)")
    p.add_argument("--serve", action="store_true", help="keep serving after the demo (Ctrl-C to stop)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for the handlers (default 20)")
    p.set_defaults(run=run)


def example_settings_path() -> Path:
    """examples/hookinbox.toml: shipped in the wheel, or next to src/ in a checkout, or under the cwd."""
    package = Path(hookinbox.__file__).resolve().parent
    for candidate in (
        package / "_examples" / "hookinbox.toml",
        package.parent.parent / "examples" / "hookinbox.toml",
        Path.cwd() / "examples" / "hookinbox.toml",
    ):
        if candidate.is_file():
            return candidate
    raise CommandError("examples/hookinbox.toml not found; run the demo from a hookinbox checkout")


def _settings(ctx: Context, tmp: str) -> Settings:
    given = getattr(ctx.args, "config", None)
    path = Path(given) if given else example_settings_path()
    store = getattr(ctx.args, "store", None) or "sqlite:///" + str(Path(tmp) / "demo.db")
    settings = load_settings(path, store=store)
    add_import_dir(path.resolve().parent)
    return settings


def run(ctx: Context) -> int:
    if ctx.given_inbox:
        raise CommandError("the demo runs its own receiver; use `serve` with a given inbox")
    uvicorn = _uvicorn()
    setup_logging("info")
    with tempfile.TemporaryDirectory(prefix="hookinbox-demo-") as tmp:
        inbox = Inbox(_settings(ctx, tmp))
        try:
            inbox.load_handlers()
            reach_store(inbox)
            return _demo(ctx, inbox, uvicorn)
        finally:
            inbox.close()


def _demo(ctx: Context, inbox: Inbox, uvicorn: Any) -> int:
    args = ctx.args
    sock = bind("127.0.0.1", args.port)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(build_app(inbox, owns_inbox=False), lifespan="on", log_config=None, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="hookinbox-demo-server")
    thread.start()
    try:
        _wait_until_up(server, thread)
        echo(f"receiver on {base} (store {inbox.settings.store})\n")
        keys = _send_all(inbox, base)
        missing = _wait_handled(inbox, keys, args.timeout)
        echo("")
        echo(table(EVENT_HEADERS, event_rows(inbox.store.list(limit=50))))
        if missing:
            echo(f"\nnot handled within {args.timeout:g} s: {', '.join(f'{e}/{i}' for e, i in missing)}")
            return 1
        echo(f"\n{plural(len(keys), 'event')} verified, recorded once and handled.")
        if args.serve:
            echo(f"still receiving on {base} (Ctrl-C stops); try:")
            echo(f"  hookinbox send shop --config {inbox.settings.source} --url {base}")
            _serve_until_stopped(server, thread)
        return 0
    finally:
        server.should_exit = True
        thread.join(30)


def _wait_until_up(server: Any, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise CommandError("the demo receiver did not start")
        time.sleep(0.02)


def _send_all(inbox: Inbox, base: str) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for ep in inbox.endpoints.values():
        if ep.preset is None:
            continue
        body, headers = build_delivery(ep)
        event_type, event_id = event_key(ep, body, headers)
        status, answer = post(base + ep.path, body, headers)
        echo(f"sent {ep.preset.name:14} {event_type:28} -> {status} {answer.decode('utf-8', 'replace')}")
        if status != 200:
            raise CommandError(f"{ep.name}: the receiver answered {status}")
        keys.append((ep.name, event_id))
    return keys


def _wait_handled(inbox: Inbox, keys: list[tuple[str, str]], timeout: float) -> list[tuple[str, str]]:
    """Poll the store until every event is done; returns the ones that are not."""
    deadline = time.monotonic() + timeout
    waiting = list(keys)
    while waiting and time.monotonic() < deadline:
        waiting = [k for k in waiting if (r := inbox.store.get(*k)) is None or r.status is not Status.DONE]
        if waiting:
            time.sleep(0.05)
    return waiting


def _serve_until_stopped(server: Any, thread: threading.Thread) -> None:
    def stop(signum: int, frame: Any) -> None:
        server.should_exit = True

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
