"""A Django process with the inbox on the Django database, for the heartbeat test (run as a script).

``python heartbeat_worker.py DB MARKER hold N``: deliver N signed events; every handler notes
``started ID`` and blocks (the test SIGKILLs this process). ``... recover N``: start the inbox and
note ``done ID`` for each event handled; exit when all N are done (or after 60 s).
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import django
from django.conf import settings

DB, MARKER, MODE, N = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])

settings.configure(
    SECRET_KEY="test-only",
    INSTALLED_APPS=["django.contrib.contenttypes", "hookinbox.django"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DB, "OPTIONS": {"timeout": 20}}},
    USE_TZ=True,
    HOOKINBOX={
        "hookinbox": {
            "heartbeat_interval": "200ms",
            "process_timeout": "2s",
            "sweep_interval": "200ms",
            "recover_after": "1h",
            "lease": "5m",
        },
        "endpoints": {},  # filled below from the seed provider
    },
)
django.setup()

from django.core.management import call_command  # noqa: E402
from tests.stores._helpers import PROVIDER, signed_body  # noqa: E402

from hookinbox.django.conf import build_inbox  # noqa: E402

call_command("migrate", verbosity=0)
settings.HOOKINBOX["endpoints"] = {
    PROVIDER.endpoint: {"path": PROVIDER.path, "preset": PROVIDER.preset.name, "secret": PROVIDER.secret}
}
inbox = build_inbox(settings.HOOKINBOX)
block = threading.Event()
done: set[str] = set()


def handler(event: Any) -> None:
    with MARKER.open("a") as f:
        f.write(f"{'started' if MODE == 'hold' else 'done'} {event.id}\n")
    if MODE == "hold":
        block.wait()
    else:
        done.add(event.id)


inbox.add_handler(handler, "*")
inbox.startup()
if MODE == "hold":
    endpoint = inbox.endpoints[PROVIDER.endpoint]
    for i in range(N):
        body = signed_body(f"held-{i}")
        headers = {k.lower(): v for k, v in PROVIDER.headers(body).items()}
        reply = inbox.receive(endpoint, headers, body)
        print(reply.status, flush=True)
    block.wait()
else:
    deadline = time.monotonic() + 60
    while len(done) < N and time.monotonic() < deadline:
        time.sleep(0.05)
    print(len(done), flush=True)
    inbox.close()
