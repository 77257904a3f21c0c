"""pytest plugin: post signed deliveries to your app from a test.

Installed with hookinbox (entry point ``pytest11``), or enabled with
``-p hookinbox.testing.pytest_plugin``. Provide the inbox (and, if the
webhooks are mounted in an app of yours, the app) as fixtures in your
``conftest.py``::

    @pytest.fixture
    def hookinbox_inbox():
        return Inbox.from_settings({"endpoints": {"stripe": {
            "path": "/webhooks/stripe", "preset": "stripe", "secret": "whsec_test"}}})

    @pytest.fixture
    def hookinbox_app(hookinbox_inbox):
        return hookinbox.asgi.WebhookMiddleware(my_asgi_app, hookinbox_inbox)   # or a WSGI app

    def test_paid(hookinbox_client):
        delivery = hookinbox_client.delivery("stripe", PRESETS["stripe"].sample())
        assert hookinbox_client.send(delivery).status_code == 200
        assert hookinbox_client.wait(delivery).status == "done"

Without a ``hookinbox_app`` fixture, the inbox is served alone (a standalone
receiver: one :class:`hookinbox.asgi.EndpointApp` per endpoint path).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hookinbox.inbox import Inbox
from hookinbox.testing import WebhookClient


@pytest.fixture
def hookinbox_inbox() -> Inbox:
    """The :class:`~hookinbox.Inbox` under test; override this fixture in your conftest.py."""
    raise pytest.UsageError(
        "the hookinbox_client fixture needs your inbox: define a `hookinbox_inbox` fixture "
        "returning hookinbox.Inbox (see hookinbox.testing.pytest_plugin)"
    )


@pytest.fixture
def hookinbox_app(hookinbox_inbox: Inbox) -> Any:
    """The ASGI or WSGI app that receives the webhooks; by default the inbox alone (ASGI)."""
    from hookinbox.asgi import EndpointApp, not_found_app

    apps = {name: EndpointApp(hookinbox_inbox, ep) for name, ep in hookinbox_inbox.endpoints.items()}

    async def standalone(scope: Any, receive: Any, send: Any) -> None:
        endpoint = hookinbox_inbox.endpoint_for_path(scope["path"]) if scope["type"] == "http" else None
        await (apps[endpoint.name] if endpoint is not None else not_found_app)(scope, receive, send)

    return standalone


@pytest.fixture
def hookinbox_client(hookinbox_app: Any, hookinbox_inbox: Inbox) -> Iterator[WebhookClient]:
    """A :class:`~hookinbox.testing.WebhookClient` posting signed deliveries to ``hookinbox_app``."""
    client = WebhookClient(hookinbox_app, hookinbox_inbox)
    try:
        yield client
    finally:
        client.close()
