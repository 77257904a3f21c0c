"""The applications under test, one per host, configured from the environment.

Every app serves two routes on the same server process:

* ``/bare`` -- a route of the host framework that only returns 200 (the ceiling);
* ``/hook`` -- the hookinbox endpoint (middleware in front of the host app).

The harness (``run.py``) starts one server per measured cell, so every store
and queue starts empty. Environment:

``BENCH_STORE``          store URL (``memory://`` by default)
``BENCH_STORE_OPTIONS``  JSON object of store options (table prefix, key prefix ...)
``BENCH_HANDLER_DELAY``  seconds each handler takes (0 or 2)
``BENCH_SECRET``         the HMAC secret the load was signed with
``BENCH_QUEUE_SIZE`` / ``BENCH_WORKERS`` / ``BENCH_MAX_EVENTS``  hookinbox settings
``BENCH_HANDLER``        ``def`` or ``async`` (default: ``async`` on ASGI hosts, ``def`` on WSGI)
``BENCH_HANDLED_FILE``   a file this process rewrites every 0.1 s with how many events its handlers ran
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from typing import Any

from hookinbox.inbox import Inbox

SECRET = os.environ.get("BENCH_SECRET", "bench-secret")
DELAY = float(os.environ.get("BENCH_HANDLER_DELAY", "0"))
HOOK_PATH = "/hook"
BARE_PATH = "/bare"
OK = b'{"ok": true}'


def settings() -> dict[str, Any]:
    glob: dict[str, Any] = {"store": os.environ.get("BENCH_STORE", "memory://"), "drain_timeout": "1s"}
    opts = os.environ.get("BENCH_STORE_OPTIONS")
    if opts:
        glob["store_options"] = json.loads(opts)
    for env, key in (
        ("BENCH_QUEUE_SIZE", "queue_size"),
        ("BENCH_WORKERS", "workers"),
        ("BENCH_MAX_EVENTS", "max_events"),
    ):
        if os.environ.get(env):
            glob[key] = int(os.environ[env])
    return {
        "hookinbox": glob,
        "endpoints": {"bench": {"path": HOOK_PATH, "preset": "nimbus-orders", "secret": SECRET}},
    }


_handled = itertools.count()  # next() is atomic under the GIL: no increment lost between handler threads


def handled() -> int:
    return int(repr(_handled)[6:-1])  # "count(N)": read without advancing


async def async_handler(event: Any) -> None:
    if DELAY:
        await asyncio.sleep(DELAY)
    next(_handled)


def sync_handler(event: Any) -> None:
    if DELAY:
        time.sleep(DELAY)
    next(_handled)


def make_inbox(*, asynchronous: bool) -> Inbox:
    inbox = Inbox.from_settings(settings())
    kind = os.environ.get("BENCH_HANDLER") or ("async" if asynchronous else "def")
    inbox.add_handler(async_handler if kind == "async" else sync_handler, "*")
    return inbox


def _report_handled(path: str) -> None:
    import threading

    def loop() -> None:
        last = -1
        while True:
            now = handled()
            if now != last:
                last = now
                tmp = path + ".tmp"
                with open(tmp, "w") as f:
                    f.write(str(last))
                os.replace(tmp, path)
            time.sleep(0.1)

    threading.Thread(target=loop, name="bench-handled", daemon=True).start()


if os.environ.get("BENCH_HANDLED_FILE"):
    _report_handled(os.environ["BENCH_HANDLED_FILE"])


# -- raw ASGI (no framework): the strictest ceiling ----------------------------------------------


async def _raw_bare(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            kind = message["type"].rsplit(".", 1)[-1]
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"12")]})
    await send({"type": "http.response.body", "body": OK})


def _asgi(host: Any) -> Any:
    from hookinbox.asgi import WebhookMiddleware

    return WebhookMiddleware(host, make_inbox(asynchronous=True))


def raw_app() -> Any:
    return _asgi(_raw_bare)


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def bare(request: Any) -> Response:
        return Response(OK, media_type="application/json")

    return _asgi(Starlette(routes=[Route(BARE_PATH, bare, methods=["POST"])]))


def fastapi_app() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import Response

    app = FastAPI()

    @app.post(BARE_PATH)
    async def bare() -> Response:
        return Response(OK, media_type="application/json")

    return _asgi(app)


# -- WSGI ---------------------------------------------------------------------------------------


def flask_app() -> Any:
    from flask import Flask, Response

    from hookinbox.wsgi import WebhookMiddleware

    app = Flask("bench")

    @app.post(BARE_PATH)
    def bare() -> Response:
        return Response(OK, mimetype="application/json")

    inbox = make_inbox(asynchronous=False)
    inbox.startup()
    app.wsgi_app = WebhookMiddleware(app.wsgi_app, inbox)  # type: ignore[method-assign]
    return app


# -- garbage-collector pauses (BENCH_GC_LOG=path: a JSON summary, rewritten at most twice a second) --


def _gc_log(path: str) -> None:
    import gc

    stats: dict[int, list[float]] = {}
    started = [0.0]
    written = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        pause = time.perf_counter() - started[0]
        s = stats.setdefault(info["generation"], [0, 0.0, 0.0])
        s[0] += 1
        s[1] += pause
        s[2] = max(s[2], pause)
        now = time.monotonic()
        if now - written[0] > 0.5:  # the server dies by its signal: no atexit
            written[0] = now
            with open(path, "w") as f:
                json.dump(
                    {
                        f"gen{g}": {"count": n, "total_ms": t * 1000, "max_ms": m * 1000}
                        for g, (n, t, m) in sorted(stats.items())
                    },
                    f,
                )

    gc.callbacks.append(callback)


if os.environ.get("BENCH_GC_LOG"):
    _gc_log(os.environ["BENCH_GC_LOG"])

# Diagnostics only (never in the table): BENCH_GC=off disables the cyclic collector;
# BENCH_GC=freeze moves everything alive after the imports (frameworks, hookinbox) out of its reach.
if os.environ.get("BENCH_GC") == "off":
    import gc

    gc.disable()
elif os.environ.get("BENCH_GC") == "freeze":
    import gc

    import fastapi  # noqa: F401  (what the factories import later, imported now so it is frozen too)
    import starlette.applications  # noqa: F401

    gc.collect()
    gc.freeze()
