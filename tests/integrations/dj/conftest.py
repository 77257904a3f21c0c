"""Django configured in-process for these tests: the test app, the admin, SQLite in a temp dir."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require_module

require_module("django")

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from tests.seeds import PROVIDERS  # noqa: E402

_TMP = Path(tempfile.mkdtemp(prefix="hookinbox-dj-"))


def hookinbox_settings(**endpoint_extra: Any) -> dict[str, Any]:
    """The five seed providers; the store is left to the Django default (django://)."""
    return {
        "hookinbox": {"max_body": "2KB", "max_attempts": 1, "sweep_interval": "1s"},
        "endpoints": {
            p.endpoint: {"path": p.path, "preset": p.preset.name, "secret": p.secret, **endpoint_extra}
            for p in PROVIDERS
        },
    }


if not settings.configured:
    settings.configure(
        SECRET_KEY="test-only",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "hookinbox.django",
            "hookinbox_testapp",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        ROOT_URLCONF="hookinbox_testapp.urls",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(_TMP / "db.sqlite3"),
                "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
            }
        },
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
        HOOKINBOX=hookinbox_settings(),
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    django.setup()


@pytest.fixture(scope="session", autouse=True)
def _database() -> Iterator[None]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    yield
    from django.db import connections

    connections.close_all()
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    """Each test starts with empty inbox and ordering-key tables, no handler calls, and a fresh inbox."""
    from hookinbox_testapp import webhooks

    from hookinbox.django import reset_inbox
    from hookinbox.django.models import InboxEvent, OrderKey, Process

    InboxEvent.objects.all().delete()
    OrderKey.objects.all().delete()
    Process.objects.all().delete()
    webhooks.CALLS.clear()
    webhooks.FAIL.clear()
    yield
    reset_inbox()
