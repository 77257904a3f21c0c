"""The Flask extension: settings from app.config, handlers, pass-through, refusals (Flask test client)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import check_refusals, seed_deliveries
from tests.conftest import require_module
from tests.seeds import PROVIDERS, settings_dict
from tests.toolkit import wait_for

flask = require_module("flask")

from hookinbox import ConfigurationError, Inbox  # noqa: E402
from hookinbox.flask import HookInbox  # noqa: E402


def make_app(ext: HookInbox, config: Any) -> flask.Flask:
    app = flask.Flask("t")
    app.config["HOOKINBOX"] = config
    ext.init_app(app)

    @app.post("/echo")
    def echo() -> Any:
        return {"echo": flask.request.get_data(as_text=True), "form": dict(flask.request.form)}

    return app


@pytest.fixture
def ext() -> Iterator[HookInbox]:
    ext = HookInbox()
    yield ext
    for inbox in ext._inboxes:
        inbox.close()


def test_refusals_and_duplicates(ext: HookInbox) -> None:
    """401, 400, 405 and 413 come from the core with its JSON; a repeat is acked as a duplicate."""
    app = make_app(ext, settings_dict(max_body="2KB"))
    client = app.test_client()

    def request(method: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
        r = client.open(path, method=method, data=body, headers=headers)
        return r.status_code, r.get_json(), {k.lower(): v for k, v in r.headers.items()}

    check_refusals(request, ext.inbox.settings)


def test_handlers_registered_before_init_app_run(ext: HookInbox) -> None:
    """A handler registered on the extension before init_app (app factory) runs once per seed event."""
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    @ext.on("*")
    def record(event: Any) -> None:
        with lock:
            seen.append((event.endpoint, event.id))

    app = make_app(ext, settings_dict())
    client = app.test_client()
    deliveries = seed_deliveries(ext.inbox.settings)
    for d in deliveries * 2:
        assert client.post(d.path, data=d.body, headers=d.headers).status_code == 200
    wait_for(lambda: len(seen) >= len(deliveries), what="handlers")
    assert sorted(set(seen)) == sorted(seen) and len(seen) == len(deliveries)
    assert app.extensions["hookinbox"] is ext.inbox


def test_host_routes_keep_their_bodies_and_forms(ext: HookInbox) -> None:
    """The app's own routes read their JSON and form bodies as if hookinbox were not there."""
    client = make_app(ext, settings_dict()).test_client()
    r = client.post("/echo", data=b'{"a": 1}', content_type="application/json")
    assert r.get_json()["echo"] == '{"a": 1}'
    r = client.post("/echo", data={"k": "v"})
    assert r.get_json()["form"] == {"k": "v"}
    assert client.get("/nowhere").status_code == 404


def test_settings_from_a_toml_path_and_handler_after_init(ext: HookInbox, tmp_path: Path) -> None:
    """HOOKINBOX may name a TOML file; a handler registered after init_app is added to the live inbox."""
    p = PROVIDERS[1]  # api-key provider
    toml = tmp_path / "hookinbox.toml"
    toml.write_text(f'[endpoints.{p.endpoint}]\npath = "{p.path}"\npreset = "{p.preset.name}"\nsecret = "{p.secret}"\n')
    app = make_app(ext, str(toml))
    done = threading.Event()
    ext.on("*", endpoint=p.endpoint)(lambda event: done.set())
    _payload, body = p.bodies()[0]
    r = app.test_client().post(p.path, data=body, headers=p.headers(body))
    assert r.status_code == 200
    assert done.wait(10)
    assert ext.inbox.endpoints[p.endpoint].path == p.path


def test_missing_or_invalid_config_is_a_configuration_error() -> None:
    """init_app without HOOKINBOX, or with an unknown endpoint in a handler, raises ConfigurationError."""
    with pytest.raises(ConfigurationError, match="HOOKINBOX"):
        HookInbox(flask.Flask("t"))
    ext = HookInbox()
    ext.on("*", endpoint="nope")(lambda e: None)
    with pytest.raises(ConfigurationError, match="no endpoint 'nope'"):
        make_app(ext, settings_dict())


def test_one_extension_on_two_apps_keeps_one_inbox_each(ext: HookInbox) -> None:
    """With an app factory, each app gets its own inbox, found through the app context."""
    a, b = make_app(ext, settings_dict()), make_app(ext, settings_dict())
    with a.app_context():
        ia = ext.inbox
    with b.app_context():
        ib = ext.inbox
    assert isinstance(ia, Inbox) and ia is not ib
    with pytest.raises(RuntimeError, match="init_app"):
        _ = ext.inbox  # outside an app context, ambiguous
