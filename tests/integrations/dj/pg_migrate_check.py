"""Run in a subprocess: migrate hookinbox.django on a PostgreSQL database and exercise the store there.

Usage: python pg_migrate_check.py  (HOOKINBOX_TEST_PG_* in the environment name the database).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django
from django.conf import settings

sys.path.insert(0, str(Path(__file__).parent))

settings.configure(
    SECRET_KEY="test-only",
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "hookinbox.django"],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["HOOKINBOX_TEST_PG_DB"],
            "USER": os.environ["HOOKINBOX_TEST_PG_USER"],
            "PASSWORD": os.environ.get("HOOKINBOX_TEST_PG_PASSWORD", ""),
            "HOST": os.environ["HOOKINBOX_TEST_PG_HOST"],
            "PORT": os.environ["HOOKINBOX_TEST_PG_PORT"],
        }
    },
    USE_TZ=True,
    HOOKINBOX={"endpoints": {"shop": {"path": "/w/shop", "preset": "cimplify", "secret": "s"}}},
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from store_checks import exercise_contract, exercise_processes, exercise_threads  # noqa: E402

from hookinbox.django.store import DjangoStore  # noqa: E402

call_command("migrate", "hookinbox", "0001", verbosity=0)  # a database from before the process registry
with connection.cursor() as cur:
    cur.execute(
        "INSERT INTO hookinbox_event (endpoint, event_id, type, status, attempts, received_at, updated_at,"
        " handlers_done, headers) VALUES ('shop', 'old', 't', 'failed', 1, 1.0, 2.0, '[]', '{}')"
    )
call_command("migrate", "hookinbox", verbosity=0)
old = DjangoStore("default").get("shop", "old")
assert old is not None
print("migrated row:", old.status.value, old.attempts, old.owner, old.history, old.order_key, old.order_seq)
with connection.cursor() as cur:
    cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'hookinbox_event' ORDER BY 1")
    print("indexes:", ",".join(r[0] for r in cur.fetchall()))
DjangoStore("default").discard("shop", "old")
print("contract:", " ".join(exercise_contract(DjangoStore)))
exercise_threads(DjangoStore)
exercise_processes(DjangoStore)
call_command("migrate", "hookinbox", "zero", verbosity=0)
print("ok")
