"""A separate process sharing a store with the test: deliver, crash mid-handler, or recover.

Modes (``config["mode"]``):
* ``deliver``: wait for the ``go`` file, deliver the same event ``n`` times from 8 threads
  through the WSGI middleware, print the outcome counts as JSON, wait for the event to be done.
* ``crash``: deliver once (print the status); the handler notes ``started`` then blocks forever.
* ``recover``: start the executor (its sweeper recovers due events); the handler notes ``done``.
Handlers append one line per run to the ``marker`` file.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hookinbox.events import Status
from hookinbox.wsgi import WebhookMiddleware
from tests.stores._helpers import EVENT_ID, PROVIDER, inbox_for, wsgi_deliver


def main() -> None:
    cfg = json.loads(sys.argv[1])
    mode = cfg["mode"]
    marker = Path(cfg["marker"])
    inbox = inbox_for((cfg["url"], cfg["options"]), lease=cfg.get("lease", 300), sweep_interval=0.1, recover_after=0.2)
    block = threading.Event()

    @inbox.on("*")
    def handler(event: object) -> None:
        with marker.open("a") as f:
            f.write(("started" if mode == "crash" else "done") + "\n")
        if mode == "crash":
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
