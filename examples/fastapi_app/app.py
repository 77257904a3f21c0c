"""A FastAPI app receiving the five seed providers' webhooks through the pure ASGI middleware."""

import json
import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request

from hookinbox import Inbox
from hookinbox.asgi import WebhookMiddleware

log = logging.getLogger("example")
inbox = Inbox.from_file(os.environ.get("HOOKINBOX_SETTINGS", Path(__file__).with_name("hookinbox.toml")))


@inbox.on("*")
def record_event(event):
    """Every event of every endpoint (a sync handler runs in a thread): one line to $EXAMPLE_EVENTS_LOG."""
    line = json.dumps({"endpoint": event.endpoint, "id": event.id, "type": event.type})
    path = os.environ.get("EXAMPLE_EVENTS_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    else:
        log.warning("handled %s", line)


@asynccontextmanager
async def lifespan(app):  # the app's own lifespan; the middleware starts and drains the inbox around it
    yield {"greeting": "hello"}


app = FastAPI(lifespan=lifespan)
app.add_middleware(WebhookMiddleware, inbox=inbox)


@app.get("/")
async def index(request: Request):
    return {"app": "fastapi", "webhooks": inbox.paths, "greeting": request.state.greeting}


@app.post("/echo")
async def echo(request: Request):  # the app's own routes still get their request bodies
    return {"echo": (await request.body()).decode()}
