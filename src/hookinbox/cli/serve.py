"""``hookinbox serve``: a standalone receiver under uvicorn, plus ``GET /healthz``.

The app is :class:`hookinbox.asgi.WebhookMiddleware` in front of a tiny host
app that answers ``/healthz`` (200 when the store answers, 503 when not) and
404 elsewhere. uvicorn turns SIGTERM/SIGINT into the ASGI lifespan shutdown,
where the middleware drains the executor for up to ``drain_timeout`` and the
store's connections are closed.

With ``--workers N`` uvicorn starts N processes that each import
:func:`create_app` (a factory reading ``$HOOKINBOX_SETTINGS`` and
``$HOOKINBOX_STORE``, which the parent sets from its own options).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import socket
from typing import Any

from hookinbox import __version__
from hookinbox.asgi import Message, Receive, Scope, Send, WebhookMiddleware, not_found_app
from hookinbox.cli._context import (
    CONFIG_ENV,
    STORE_ENV,
    CommandError,
    Context,
    config_path,
    load_settings,
    reach_store,
)
from hookinbox.cli._output import echo
from hookinbox.inbox import Inbox

__all__ = ["add_parser", "build_app", "create_app", "healthz", "run"]

log = logging.getLogger("hookinbox.serve")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run a standalone receiver (uvicorn) for the configured endpoints",
        description="Run a standalone receiver under uvicorn: every endpoint of the settings, plus GET /healthz "
        "(200 when the store answers, else 503). Handlers run in this process; SIGTERM drains them for up to "
        "drain_timeout. The store defaults to sqlite:///hookinbox.db in the working directory.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1; >1 needs a durable store)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--dashboard",
        action="store_true",
        help="serve the dashboard at /dashboard too (token: $HOOKINBOX_DASHBOARD_TOKEN)",
    )
    p.add_argument("--log-json", action="store_true", help="log one JSON object per line (with trace ids)")
    p.set_defaults(run=run)


async def healthz(inbox: Inbox) -> tuple[int, dict[str, Any]]:
    """200 ``{"status": "ok", ...}`` when the store answers a read, else 503 with the error class."""
    store_kind = inbox.settings.store.split(":", 1)[0]
    info: dict[str, Any] = {"version": __version__, "store": store_kind, "endpoints": sorted(inbox.endpoints)}
    try:
        store = inbox.store
        probe: Any = getattr(store, "health", None) or (lambda: store.list(limit=1))  # StoreHealth, or raises
        health = await asyncio.to_thread(probe) if store.blocking else probe()
        if getattr(health, "ok", True) is False:  # writes failing, or the probe failed (stores/__init__.py)
            log.warning("health check: store unhealthy (%s)", health.reason)
            return 503, {"status": "unavailable", "error": health.reason, **info}
    except Exception as exc:  # never the message: it may carry a URL with a password
        log.warning("health check: store unavailable (%s)", type(exc).__name__)
        return 503, {"status": "unavailable", "error": type(exc).__name__, **info}
    return 200, {"status": "ok", **info}


def host_app(inbox: Inbox, *, owns_inbox: bool = True) -> Any:
    """The app behind the middleware: ``/healthz``, 404 elsewhere, and store cleanup on shutdown."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/healthz" and scope["method"] in ("GET", "HEAD"):
            status, obj = await healthz(inbox)
            body = json.dumps(obj).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})
            return
        if scope["type"] == "lifespan" and owns_inbox:
            await not_found_app(scope, _closing(inbox, receive), send)
            return
        await not_found_app(scope, receive, send)

    return app


def _closing(inbox: Inbox, receive: Receive) -> Receive:
    async def wrapped() -> Message:
        message = await receive()
        if message["type"] == "lifespan.startup":
            log.info("hookinbox receiving on %s (store %s)", ", ".join(inbox.paths), inbox.settings.store.split(":")[0])
        elif message["type"] == "lifespan.shutdown":  # the middleware has drained the executor by now
            await asyncio.to_thread(inbox.close)
            log.info("hookinbox stopped; store closed")
        return message

    return wrapped


def build_app(inbox: Inbox, *, owns_inbox: bool = True) -> WebhookMiddleware:
    """The standalone receiver's ASGI app for ``inbox``."""
    return WebhookMiddleware(host_app(inbox, owns_inbox=owns_inbox), inbox)


def setup_logging(level: str = "info", json_lines: bool = False) -> None:
    """Log hookinbox (and handler) records to stderr, unless the host configured logging already."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if json_lines:  # --log-json / log_format = "json": one JSON object per line
            from hookinbox.jsonlog import JsonFormatter

            root.handlers[0].setFormatter(JsonFormatter())


def create_app() -> WebhookMiddleware:
    """uvicorn factory (``hookinbox.cli.serve:create_app``): settings from ``$HOOKINBOX_SETTINGS``."""
    settings = load_settings(None)
    json_lines = os.environ.get("HOOKINBOX_LOG_FORMAT") == "json" or settings.log_format == "json"
    setup_logging(os.environ.get("HOOKINBOX_LOG_LEVEL", "info"), json_lines)
    inbox = Inbox(settings)
    inbox.settings.log_notes()
    inbox.load_handlers()
    return build_app(inbox)


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise CommandError("hookinbox serve needs uvicorn: pip install 'hookinbox[serve]'") from None
    return uvicorn


def run(ctx: Context) -> int:
    args = ctx.args
    uvicorn = _uvicorn()
    inbox = ctx.inbox()
    json_lines = args.log_json or inbox.settings.log_format == "json"
    setup_logging(args.log_level, json_lines)
    inbox.settings.log_notes()  # advice such as a secret written in the file, once, at start-up
    inbox.load_handlers()  # import errors now, not on the first delivery
    reach_store(inbox)  # an unreachable store fails here, with its error, before binding the port
    # no access line per delivery unless debugging: at INFO it halved intake (docs/benchmarks.md);
    # hookinbox counts every outcome in its metrics instead
    common: dict[str, Any] = {
        "log_level": args.log_level,
        "log_config": None,
        "timeout_graceful_shutdown": 30,
        "access_log": args.log_level == "debug",
    }
    if args.workers > 1:
        _check_workers(ctx)
    sock = bind(args.host, args.port)
    where = f"http://{args.host}:{sock.getsockname()[1]}"
    if args.workers > 1:
        return _run_workers(ctx, uvicorn, sock, where, common)
    app: Any = build_app(inbox, owns_inbox=ctx.owns_inbox)
    if getattr(args, "dashboard", False):  # hookinbox.dashboard.serve: /dashboard in front of the receiver
        from hookinbox.dashboard.serve import with_dashboard

        app = with_dashboard(app, inbox)
    echo(f"hookinbox: listening on {where} ({', '.join(inbox.paths)}, /healthz)")
    uvicorn.Server(uvicorn.Config(app, lifespan="on", **common)).run(sockets=[sock])
    return 0


def _run_workers(ctx: Context, uvicorn: Any, sock: socket.socket, where: str, common: dict[str, Any]) -> int:
    """N processes sharing the socket, each building the app with :func:`create_app`."""
    from uvicorn.supervisors import Multiprocess

    args, inbox = ctx.args, ctx.inbox()
    os.environ[CONFIG_ENV] = str(config_path(getattr(args, "config", None)).resolve())
    os.environ[STORE_ENV] = inbox.settings.store
    os.environ["HOOKINBOX_LOG_LEVEL"] = args.log_level
    if args.log_json:
        os.environ["HOOKINBOX_LOG_FORMAT"] = "json"
    ctx.close()
    echo(f"hookinbox: listening on {where} ({', '.join(inbox.paths)}, /healthz) with {args.workers} workers")
    config = uvicorn.Config(
        "hookinbox.cli.serve:create_app", factory=True, workers=args.workers, lifespan="on", **common
    )
    supervisor: Any = Multiprocess
    if "target" in inspect.signature(supervisor).parameters:  # uvicorn < 0.30 takes the server's run
        supervisor(config, target=uvicorn.Server(config).run, sockets=[sock]).run()
    else:
        supervisor(config, sockets=[sock]).run()
    return 0


def _check_workers(ctx: Context) -> None:
    args, inbox = ctx.args, ctx.inbox()
    if ctx.given_inbox:
        raise CommandError("--workers needs a settings file; run one process per host instead")
    if not inbox.store.durable:
        raise CommandError(
            f"--workers {args.workers} needs a durable store (sqlite, postgresql, mysql, redis), "
            f"not {inbox.settings.store}: each process would de-duplicate on its own"
        )


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so ``--port 0`` picks a free port we can print."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock
