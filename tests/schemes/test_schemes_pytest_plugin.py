"""The pytest plugin (-p hookinbox.testing.pytest_plugin): hookinbox_client against ASGI and WSGI apps."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from tests.conftest import require_module

pytest_plugins = ["pytester"]

# pytest-asyncio (if installed) warns about its unset loop scope; the inner runs do not need it.
# Installed (tox, users), the plugin loads through its pytest11 entry point; from a source
# checkout it must be named with -p (naming it twice would register it twice).
_INSTALLED = any(ep.value == "hookinbox.testing.pytest_plugin" for ep in entry_points(group="pytest11"))
ARGS = (
    *(() if _INSTALLED else ("-p", "hookinbox.testing.pytest_plugin")),
    "-p",
    "no:asyncio",
    "-p",
    "no:cacheprovider",
)

CONFTEST = """
import pytest
from hookinbox import Inbox

SEEN = []

@pytest.fixture
def hookinbox_inbox():
    inbox = Inbox.from_settings({"endpoints": {
        "stripe": {"path": "/webhooks/stripe", "preset": "stripe", "secret": "whsec_plugin"},
        "github": {"path": "/webhooks/github", "preset": "github", "secret": "gh"},
    }})
    SEEN.clear()

    @inbox.on("payment_intent.*", endpoint="stripe")
    def paid(event):
        SEEN.append(event.data["id"])

    @inbox.on("*", endpoint="github")
    def on_github(event):
        if event.type == "push":
            raise RuntimeError("boom")
        SEEN.append(event.type)

    return inbox
"""

TESTS = """
from conftest import SEEN
from hookinbox.presets import PRESETS

def test_paid(hookinbox_client):
    delivery = hookinbox_client.delivery("stripe", PRESETS["stripe"].sample("payment_intent.succeeded"))
    assert hookinbox_client.send(delivery).status_code == 200
    assert hookinbox_client.wait(delivery).status == "done"
    assert SEEN == ["pi_3MtwBwLkdIwHu7ix28a3tqPa"]
    assert hookinbox_client.send(delivery).json()["duplicate"] is True
    assert hookinbox_client.send(delivery.tampered()).status_code == 401

def test_failing_handler_is_visible(hookinbox_client):
    r = hookinbox_client.post("github", {"ref": "refs/heads/main"}, event_type="push", event_id="d-1")
    assert r.status_code == 200
    record = hookinbox_client.wait("github", "d-1")
    assert record.status == "failed" and "RuntimeError" in record.last_error

def test_kind(hookinbox_client):
    assert hookinbox_client.kind == KIND
"""


def test_plugin_with_the_default_asgi_app(pytester: pytest.Pytester) -> None:
    """Without a hookinbox_app fixture the inbox is served alone over ASGI; deliveries are signed and awaited."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_hooks=TESTS.replace("KIND", '"asgi"'))
    result = pytester.runpytest_inprocess(*ARGS, "-q", "-W", "error")
    result.assert_outcomes(passed=3)


def test_plugin_with_a_wsgi_app(pytester: pytest.Pytester) -> None:
    """A hookinbox_app fixture returning a WSGI app (Flask) is driven through werkzeug's test client."""
    require_module("flask")
    pytester.makeconftest(
        CONFTEST
        + """
import flask
from hookinbox.wsgi import WebhookMiddleware

@pytest.fixture
def hookinbox_app(hookinbox_inbox):
    app = flask.Flask("t")
    app.wsgi_app = WebhookMiddleware(app.wsgi_app, hookinbox_inbox)
    return app
"""
    )
    pytester.makepyfile(test_hooks=TESTS.replace("KIND", '"wsgi"'))
    result = pytester.runpytest_inprocess(*ARGS, "-q", "-W", "error")
    result.assert_outcomes(passed=3)


def test_missing_inbox_fixture_is_a_clear_error(pytester: pytest.Pytester) -> None:
    """Using hookinbox_client without defining hookinbox_inbox fails with a message saying what to define."""
    pytester.makepyfile(test_x="def test_x(hookinbox_client):\n    pass\n")
    result = pytester.runpytest_inprocess(*ARGS, "-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*define a `hookinbox_inbox` fixture*"])
