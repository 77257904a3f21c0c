"""The operator's loop on a durable store: serve and send, then `inbox ...` from other processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.cli_helpers import Server, get, run_cli, wait_for, write_settings
from tests.seeds import PROVIDERS

pytestmark = pytest.mark.slow

pytest.importorskip("hookinbox.stores.sql", reason="the SQL store (hookinbox.stores.sql) is not in this branch yet")
pytest.importorskip("sqlalchemy", reason="sqlalchemy is not installed (pip install 'hookinbox[serve]')")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A receiver whose settings name no store: the default sqlite:///hookinbox.db in its working directory.

    A replayed event is picked up by the receiver's sweeper once older than `recover_after`: short here.
    """
    directory = tmp_path_factory.mktemp("sqlite")
    write_settings(
        directory,
        store=None,
        handler="cli_handlers:flaky",
        max_attempts=1,
        sweep_interval="100ms",
        recover_after="200ms",
    )
    s = Server(directory)
    yield s
    s.stop()


def inbox(server: Server, *args: str) -> Any:
    done = run_cli("inbox", *args, "--json", cwd=server.cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def status_of(server: Server, endpoint: str, event_id: str) -> str:
    return str(inbox(server, "show", event_id, "--endpoint", endpoint)["status"])


def test_default_store_is_sqlite_in_the_working_directory(server: Server) -> None:
    """With no store in the settings, serve uses ./hookinbox.db, and /healthz says sqlite."""
    status, body = get(server.url + "/healthz")
    assert status == 200 and json.loads(body)["store"] == "sqlite"
    assert (server.cwd / "hookinbox.db").is_file()


def test_sent_events_are_listed_done_by_another_process(server: Server) -> None:
    """Each provider's sample is handled, and `inbox list` in a second process sees them done."""
    for p in PROVIDERS:
        assert run_cli("send", p.endpoint, "--url", server.url, cwd=server.cwd).returncode == 0
    wait_for(lambda: len(server.handled()) >= 5, what="five events handled")
    rows = inbox(server, "list")
    assert sorted((r["endpoint"], r["status"]) for r in rows) == sorted((p.endpoint, "done") for p in PROVIDERS)
    assert all("body" not in r for r in rows)
    stats = inbox(server, "stats")
    assert {name: counts.get("done", 0) for name, counts in stats.items()} == {p.endpoint: 1 for p in PROVIDERS}


def test_dead_event_replayed_by_id_is_handled_by_the_server(server: Server) -> None:
    """A handler failure makes the event dead; after the fix, `inbox replay ID` gets it handled by the server."""
    flag = server.cwd / "fail.flag"
    flag.touch()
    sent = run_cli("send", "novamed", "medication_request:approved", "--url", server.url, cwd=server.cwd)
    assert sent.returncode == 0
    wait_for(lambda: status_of(server, "novamed", "evt_def456xyz") == "dead", what="dead")
    shown = inbox(server, "show", "evt_def456xyz", "--endpoint", "novamed")
    assert "RuntimeError: flag is up" in shown["last_error"] and "body" not in shown
    flag.unlink()
    done = run_cli("inbox", "replay", "evt_def456xyz", "--endpoint", "novamed", cwd=server.cwd)
    assert done.returncode == 0 and done.stdout.startswith("replayed 1 event;")
    wait_for(lambda: status_of(server, "novamed", "evt_def456xyz") == "done", what="done after replay")
    assert ["novamed", "evt_def456xyz", "medication_request:approved", "1"] in server.handled()


def test_replay_dead_replays_every_dead_event(server: Server) -> None:
    """`inbox replay --dead` re-queues all dead events; the server handles them."""
    flag = server.cwd / "fail.flag"
    flag.touch()
    for event_type in ("shipment:cancelled", "medication:updated"):
        assert run_cli("send", "pharmacy", event_type, "--url", server.url, cwd=server.cwd).returncode == 0
    wait_for(lambda: len(inbox(server, "list", "--status", "dead")) == 2, what="two dead")
    flag.unlink()
    assert inbox(server, "replay", "--dead") == {"replayed": 2}
    wait_for(lambda: not inbox(server, "list", "--status", "dead", "--endpoint", "pharmacy"), what="none dead")
    assert len(inbox(server, "list", "--endpoint", "pharmacy", "--status", "done")) == 3


def test_purge_deletes_finished_events(server: Server) -> None:
    """`inbox purge --older-than 0s` deletes every finished event; a later list is empty."""
    before = len(inbox(server, "list", "--status", "done", "--limit", "100"))
    assert before >= 5
    assert inbox(server, "purge", "--older-than", "0s") == {"purged": before}
    assert inbox(server, "list", "--status", "done") == []


def test_workers_share_the_sqlite_inbox(tmp_path: Path, start_server: Any) -> None:
    """--workers 2 starts worker processes through the factory; each delivery is handled once."""
    write_settings(tmp_path, store="sqlite:///inbox.db")
    s = start_server(tmp_path, "--workers", "2")
    for p in PROVIDERS:
        assert run_cli("send", p.endpoint, "--url", s.url, cwd=tmp_path).returncode == 0
    wait_for(lambda: len(s.handled()) >= 5, what="five handled")
    rows = inbox(s, "list")
    assert len(rows) == 5 and {r["status"] for r in rows} == {"done"}
    assert (tmp_path / "inbox.db").is_file()  # relative to the settings file
