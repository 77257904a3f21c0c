"""A Flask app receiving the five seed providers' webhooks (app-factory pattern)."""

import json
import logging
import os
from pathlib import Path

from flask import Flask, jsonify, request

from hookinbox.flask import HookInbox

log = logging.getLogger("example")
hooks = HookInbox()  # handlers can be registered before init_app


@hooks.on("*")
def record_event(event):
    """Every event of every endpoint: append one line to $EXAMPLE_EVENTS_LOG (or log it)."""
    line = json.dumps({"endpoint": event.endpoint, "id": event.id, "type": event.type})
    path = os.environ.get("EXAMPLE_EVENTS_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    else:
        log.warning("handled %s", line)


@hooks.on("order.created", endpoint="shop")
def on_cimplify_order(event):
    log.info("new Cimplify order %s", event.data["order_id"])


def create_app():
    app = Flask(__name__)
    app.config["HOOKINBOX"] = os.environ.get("HOOKINBOX_SETTINGS", str(Path(__file__).with_name("hookinbox.toml")))
    hooks.init_app(app)

    @app.get("/")
    def index():
        return jsonify(app="flask", webhooks=hooks.inbox.paths)

    @app.post("/echo")
    def echo():  # the app's own routes still get their request bodies
        return jsonify(echo=request.get_data(as_text=True))

    return app


app = create_app()
