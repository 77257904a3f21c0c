"""Handlers, discovered at start-up like admin.py (hookinbox.django imports every app's webhooks.py)."""

import json
import logging
import os

from hookinbox.django import on

log = logging.getLogger("shipping")


@on("*")
def record_event(event):
    """Every event of every endpoint: append one line to $EXAMPLE_EVENTS_LOG (or log it)."""
    line = json.dumps({"endpoint": event.endpoint, "id": event.id, "type": event.type})
    path = os.environ.get("EXAMPLE_EVENTS_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    else:
        log.warning("handled %s", line)


@on("shipment:*", endpoint="pharmacy")
def on_shipment(event):
    log.info("shipment %s is %s", event.data.get("shipment_id"), event.type)
