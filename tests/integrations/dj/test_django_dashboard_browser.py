"""The Django-mounted dashboard in a real browser (Playwright, Debian's chromium): the admin's login, then
the operator's round of tests/browser (counts, filter, event, replay, discard)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from hookinbox_testapp import webhooks
from tests.browser.browser_helpers import dashboard_flow, launch

pytestmark = pytest.mark.slow


@pytest.fixture
def live_server() -> Iterator[str]:
    """The test project (its dashboard at /ops/hookinbox/) served over HTTP from a thread."""
    from django.core.handlers.wsgi import WSGIHandler
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, WSGIHandler(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    with override_settings(ALLOWED_HOSTS=["127.0.0.1", "testserver"]):
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()


def test_django_mounted_dashboard(live_server: str) -> None:
    """A non-staff user is sent to the admin login; staff log in there and do the operator's round."""
    User.objects.filter(username__in=["ops", "plain"]).delete()
    User.objects.create_user("ops", "ops@example.com", "pw-ops", is_staff=True)
    User.objects.create_user("plain", "plain@example.com", "pw-plain", is_staff=False)
    for browser in launch():
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page: Any = context.new_page()
        page.goto(live_server + "/ops/hookinbox/")
        assert "/admin/login/" in page.url
        login(page, "plain", "pw-plain")
        assert "/admin/login/" in page.url and page.locator('tr[data-endpoint="generic"]').count() == 0
        login(page, "ops", "pw-ops")
        assert page.url == live_server + "/ops/hookinbox/"
        dashboard_flow(
            page,
            dashboard_url=live_server + "/ops/hookinbox",
            receiver_url=live_server,
            fail=webhooks.FAIL.add,
            heal=webhooks.FAIL.discard,
            tag="django",
        )
        context.close()


def login(page: Any, username: str, password: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
