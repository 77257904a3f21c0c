"""Flask: startup recovery and the sweeper begin with the app (issue 16 row 9), as ASGI's lifespan does."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from integration_helpers import wait_for
from tests.conftest import require_module

from hookinbox import EventRecord, Inbox, Settings, Status


def settings(tmp_path: Path) -> dict[str, Any]:
    return {
        "store": "sqlite:///" + str(tmp_path / "inbox.db"),
        "sweep_interval": "50ms",
        "endpoints": {"shop": {"path": "/wh", "preset": "cimplify", "secret": "k"}},
    }


def test_an_event_left_by_a_killed_process_is_handled_without_a_new_delivery(tmp_path: Path) -> None:
    """A pending event in the store (its process was killed) runs as soon as init_app returns."""
    require_module("flask")
    import flask

    from hookinbox.flask import HookInbox

    before = Inbox(Settings.from_dict(settings(tmp_path), env={}))  # the killed process: recorded, never handled
    rec = EventRecord(
        endpoint="shop", id="evt_left", type="order.created", body=b'{"id": "evt_left"}', headers={}, received_at=1.0
    )
    assert before.store.record(rec)
    before.store.close()

    seen: list[str] = []
    done = threading.Event()
    hooks = HookInbox()

    @hooks.on("order.*")
    def handle(event: Any) -> None:
        seen.append(event.id)
        done.set()

    app = flask.Flask("t")
    app.config["HOOKINBOX"] = settings(tmp_path)
    hooks.init_app(app)  # no request, no delivery afterwards
    try:
        assert done.wait(15), "startup recovery did not run the handler"
        assert seen == ["evt_left"]
        record = wait_for(lambda: (r := hooks.inbox.store.get("shop", "evt_left")) and r.status is Status.DONE and r)
        assert record.status is Status.DONE
    finally:
        hooks.inbox.close()


def test_start_false_leaves_starting_to_the_caller(tmp_path: Path) -> None:
    """init_app(app, start=False) (a pre-fork server): nothing runs until inbox.startup()."""
    require_module("flask")
    import flask

    from hookinbox.flask import HookInbox

    first = Inbox(Settings.from_dict(settings(tmp_path), env={}))
    assert first.store.record(
        EventRecord(endpoint="shop", id="e1", type="order.created", body=b"{}", headers={}, received_at=1.0)
    )
    first.store.close()
    seen: list[str] = []
    hooks = HookInbox()
    hooks.on("*")(lambda event: seen.append(event.id))
    app = flask.Flask("t")
    app.config["HOOKINBOX"] = settings(tmp_path)
    hooks.init_app(app, start=False)
    try:
        time.sleep(0.3)  # several sweep intervals: nothing may have run (asserting absence, not speed)
        assert seen == []
        hooks.inbox.startup()
        wait_for(lambda: seen == ["e1"], what="handler after startup()")
    finally:
        hooks.inbox.close()
