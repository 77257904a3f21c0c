"""A Starlette app receiving the five seed providers' webhooks as routes, next to its own."""

import json
import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hookinbox import Inbox
from hookinbox.starlette import lifespan, webhook_routes

log = logging.getLogger("example")
inbox = Inbox.from_file(os.environ.get("HOOKINBOX_SETTINGS", Path(__file__).with_name("hookinbox.toml")))


@inbox.on("*")
def record_event(event):
    """Every event of every endpoint (a sync handler: it runs in a thread)."""
    line = json.dumps({"endpoint": event.endpoint, "id": event.id, "type": event.type})
    path = os.environ.get("EXAMPLE_EVENTS_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    else:
        log.warning("handled %s", line)


async def index(request: Request) -> JSONResponse:
    return JSONResponse({"app": "starlette", "webhooks": inbox.paths, "greeting": request.state.greeting})


async def echo(request: Request) -> JSONResponse:  # the app's own routes still get their request bodies
    return JSONResponse({"echo": (await request.body()).decode()})


@asynccontextmanager
async def own_lifespan(app):
    yield {"greeting": "hello"}


app = Starlette(
    routes=[*webhook_routes(inbox), Route("/", index), Route("/echo", echo, methods=["POST"])],
    lifespan=lifespan(inbox, own_lifespan),  # starts the executor, runs ours, drains on shutdown
)
