"""A separate process sharing a store with the test: deliver, crash mid-handler, or recover.

Modes (``config["mode"]``):
* ``deliver``: wait for the ``go`` file, deliver the same event ``n`` times from 8 threads
  through the WSGI middleware, print the outcome counts as JSON, wait for the event to be done.
* ``crash``: deliver once (print the status); the handler notes ``started`` then blocks forever.
* ``recover``: start the executor (its sweeper recovers due events); the handler notes ``done``.
* ``hold``: deliver ``n`` distinct events (print each status); every handler notes ``started ID``
  then blocks forever (the test SIGKILLs the process). Heartbeats as ``cfg["liveness"]`` says.
Handlers append one line per run to the ``marker`` file.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hookinbox.events import Status
from hookinbox.wsgi import WebhookMiddleware
from tests.stores._helpers import EVENT_ID, PROVIDER, inbox_for, signed_body, wsgi_deliver


def main() -> None:
    cfg = json.loads(sys.argv[1])
    mode = cfg["mode"]
    marker = Path(cfg["marker"])
    inbox = inbox_for(
        (cfg["url"], cfg["options"]),
        lease=cfg.get("lease", 300),
        sweep_interval=0.1,
        recover_after=cfg.get("recover_after", 0.2),
        **cfg.get("liveness", {}),
    )
    block = threading.Event()

    @inbox.on("*")
    def handler(event: Any) -> None:
        with marker.open("a") as f:
            f.write((f"started {event.id}" if mode == "hold" else "started" if mode == "crash" else "done") + "\n")
        if mode in ("crash", "hold"):
            block.wait()

    app = WebhookMiddleware(None, inbox)

    def done() -> bool:
        rec = inbox.store.get(PROVIDER.endpoint, EVENT_ID)
        return rec is not None and rec.status is Status.DONE

    if mode == "deliver":
        go = Path(cfg["go"])
        while not go.exists():
            time.sleep(0.01)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: wsgi_deliver(app), range(cfg["n"])))
        counts = {"accepted": 0, "duplicate": 0, "other": 0}
        for status, _, body in results:
            key = "other" if status != 200 else ("duplicate" if body.get("duplicate") else "accepted")
            counts[key] += 1
        print(json.dumps(counts), flush=True)
    elif mode == "hold":
        inbox.startup()
        for i in range(cfg["n"]):
            status, _, _ = wsgi_deliver(app, signed_body(f"held-{i}"))
            print(json.dumps({"status": status}), flush=True)
        block.wait()
    elif mode == "crash":
        status, _, body = wsgi_deliver(app)
        print(json.dumps({"status": status, "body": body}), flush=True)
        block.wait()
    else:
        inbox.startup()
    deadline = time.monotonic() + 30
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)
    inbox.close()


if __name__ == "__main__":
    main()
