"""`hookinbox inbox ...` through the entry API `main(argv, inbox=...)` (what `manage.py hookinbox` uses)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from hookinbox import Event, EventRecord, Inbox, Settings, Status
from hookinbox.cli import main
from tests.seeds import PROVIDERS, settings_dict


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.fail_types: set[str] = set()

    def __call__(self, event: Event) -> None:
        if event.type in self.fail_types:
            raise RuntimeError("refused by the test")
        self.seen.append((event.endpoint, event.id))


@pytest.fixture
def inbox() -> Inbox:
    """Five providers on a memory store; every sample recorded (one from two hours ago), all processed."""
    ib = Inbox(Settings.from_dict(settings_dict(max_attempts=1), env={}))
    now = time.time()
    for p in PROVIDERS:
        for i, (payload, body) in enumerate(p.bodies()):
            record = EventRecord(
                endpoint=p.endpoint,
                id=p.expected_id(payload, body),
                type=p.preset.event_type_of(payload),
                body=body,
                headers={"content-type": "application/json"},
                received_at=now - 7200 if (p.endpoint, i) == ("orders", 0) else now - i,
            )
            assert ib.store.record(record)
    return ib


def run(inbox: Inbox, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv), inbox=inbox)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def handled(inbox: Inbox) -> Recorder:
    recorder = Recorder()
    recorder.fail_types = {"order.fulfilled"}
    inbox.add_handler(recorder, "*", name="recorder")
    assert inbox.process_due() == {"done": 9, "dead": 1}
    return recorder


def test_list_is_a_table_newest_first_without_bodies(inbox: Inbox, handled: Recorder, capsys: Any) -> None:
    """`inbox list` prints one row per event with status and the last error line, never the body."""
    rc, out, _ = run(inbox, capsys, "inbox", "list")
    lines = out.splitlines()
    assert rc == 0
    assert lines[0].split() == ["RECEIVED", "ENDPOINT", "ID", "TYPE", "STATUS", "ATTEMPTS", "LAST", "ERROR"]
    assert len(lines) == 1 + 10
    assert lines[-1].split()[1:5] == ["orders", "evt_1234567890", "order.created", "done"]  # the two-hour-old one
    dead = next(line for line in lines if "order.fulfilled" in line)
    assert dead.split()[4:] == ["dead", "1", "recorder:", "RuntimeError:", "refused", "by", "the", "test"]
    assert "ord_abc123xyz" not in out and "patient" not in out


def test_list_filters_and_json(inbox: Inbox, handled: Recorder, capsys: Any) -> None:
    """--status, --endpoint, --type and --limit filter; --json gives records without bodies."""
    rc, out, _ = run(inbox, capsys, "inbox", "list", "--status", "dead", "--json")
    rows = json.loads(out)
    assert rc == 0 and [(r["endpoint"], r["id"], r["status"]) for r in rows] == [("orders", "evt_1234567891", "dead")]
    assert "body" not in rows[0]
    _, out, _ = run(inbox, capsys, "inbox", "list", "--endpoint", "pharmacy", "--json")
    assert {r["endpoint"] for r in json.loads(out)} == {"pharmacy"} and len(json.loads(out)) == 3
    _, out, _ = run(inbox, capsys, "inbox", "list", "--type", "order.created", "--json", "--limit", "1")
    assert [r["type"] for r in json.loads(out)] == ["order.created"]


def test_list_unknown_endpoint_is_an_error(inbox: Inbox, capsys: Any) -> None:
    """An --endpoint that is not configured is named, with the configured ones."""
    rc, _, err = run(inbox, capsys, "inbox", "list", "--endpoint", "nope")
    assert rc == 1
    assert err.strip() == "hookinbox: error: no endpoint 'nope'; configured: orders, pharmacy, novamed, generic, shop"


def test_show_hides_the_body_unless_asked(inbox: Inbox, handled: Recorder, capsys: Any) -> None:
    """`show` prints status, attempts, error and headers; the body only with --body."""
    rc, out, _ = run(inbox, capsys, "inbox", "show", "evt_1234567891")
    assert rc == 0
    assert "status:        dead" in out and "RuntimeError: refused by the test" in out
    assert "content-type: application/json" in out
    assert "trackingNumber" not in out
    _, out, _ = run(inbox, capsys, "inbox", "show", "evt_1234567891", "--body")
    assert '"trackingNumber": "1Z999AA10123456784"' in out
    _, out, _ = run(inbox, capsys, "inbox", "show", "evt_1234567891", "--json", "--body")
    assert json.loads(json.loads(out)["body"])["id"] == "evt_1234567891"


def test_show_ambiguous_id_asks_for_the_endpoint(inbox: Inbox, capsys: Any) -> None:
    """An id recorded under two endpoints needs --endpoint; with it, the right record is shown."""
    rc, _, err = run(inbox, capsys, "inbox", "show", "evt_abc123")
    assert rc == 1
    assert "event 'evt_abc123' is in several endpoints (" in err and "give --endpoint" in err
    rc, out, _ = run(inbox, capsys, "inbox", "show", "evt_abc123", "--endpoint", "shop")
    assert rc == 0 and "type:          order.created" in out
    rc, _, err = run(inbox, capsys, "inbox", "show", "evt_missing")
    assert (rc, err.strip()) == (1, "hookinbox: error: no event 'evt_missing'")


def test_replay_one_event_runs_its_handlers_again(inbox: Inbox, handled: Recorder, capsys: Any) -> None:
    """`replay ID` makes a done event pending; the next processing runs the handler again."""
    rc, out, _ = run(inbox, capsys, "inbox", "replay", "evt_abc123xyz")
    assert rc == 0 and out.startswith("replayed 1 event;")
    assert inbox.store.get("novamed", "evt_abc123xyz").status is Status.PENDING  # type: ignore[union-attr]
    before = handled.seen.count(("novamed", "evt_abc123xyz"))
    assert inbox.process_due() == {"done": 1}
    assert handled.seen.count(("novamed", "evt_abc123xyz")) == before + 1


def test_replay_dead_after_a_fix(inbox: Inbox, handled: Recorder, capsys: Any) -> None:
    """`replay --dead` re-queues every dead event; once the handler is fixed they end done."""
    handled.fail_types.clear()
    rc, out, _ = run(inbox, capsys, "inbox", "replay", "--dead", "--json")
    assert rc == 0 and json.loads(out) == {"replayed": 1}
    assert inbox.process_due() == {"done": 1}
    assert inbox.store.get("orders", "evt_1234567891").status is Status.DONE  # type: ignore[union-attr]


def test_replay_argument_errors(inbox: Inbox, capsys: Any) -> None:
    """replay needs exactly one of ID and --dead; an unknown id is an error."""
    assert run(inbox, capsys, "inbox", "replay")[2].strip() == "hookinbox: error: give an event ID or --dead (not both)"
    assert run(inbox, capsys, "inbox", "replay", "x", "--dead")[0] == 1
    assert run(inbox, capsys, "inbox", "replay", "nope")[2].strip() == "hookinbox: error: no event 'nope'"


def test_purge_older_than(inbox: Inbox, handled: Recorder, capsys: Any) -> None:
    """`purge --older-than 1h` deletes only finished events received over an hour ago."""
    rc, out, _ = run(inbox, capsys, "inbox", "purge", "--older-than", "1h")
    assert rc == 0 and out.strip() == "purged 1 event (done, dead) received more than 1h ago"
    assert inbox.store.get("orders", "evt_1234567890") is None
    rc, out, _ = run(inbox, capsys, "inbox", "purge", "--older-than", "0s", "--status", "dead", "--json")
    assert json.loads(out) == {"purged": 1}
    rc, _, err = run(inbox, capsys, "inbox", "purge", "--older-than", "soon")
    assert rc == 1 and err.startswith("hookinbox: error: --older-than: expected a duration")


def test_stats_table_and_json(inbox: Inbox, handled: Recorder, capsys: Any) -> None:
    """`stats` counts events per endpoint and status."""
    rc, out, _ = run(inbox, capsys, "inbox", "stats", "--json")
    assert rc == 0 and json.loads(out)["orders"] == {"done": 2, "dead": 1}
    _, out, _ = run(inbox, capsys, "inbox", "stats")
    lines = out.splitlines()
    assert lines[0].split() == ["ENDPOINT", "PENDING", "PROCESSING", "DONE", "FAILED", "DEAD", "STALE", "TOTAL"]
    assert lines[1:] == [
        line for line in lines[1:] if line.split()[0] in {"generic", "novamed", "orders", "pharmacy", "shop"}
    ]
    assert next(line for line in lines if line.startswith("orders")).split() == ["orders", "0", "0", "2", "0", "1", "0", "3"]


def test_a_given_inbox_takes_no_config_option(inbox: Inbox, capsys: Any) -> None:
    """With an Inbox given, --config is not an option (exit 2) and nothing is read from disk."""
    assert run(inbox, capsys, "inbox", "stats", "--config", "x.toml")[0] == 2
