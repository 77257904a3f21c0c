"""The CLI as a newcomer meets it, through its entry point in a subprocess (issue 17's CLI bullets, issue 16 row 13)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hookinbox import EventRecord, Inbox, Settings, Status
from tests.cli.cli_helpers import cli_env, run_cli, write_settings

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def seeded_sqlite(tmp_path: Path, n: int = 3, dead: int = 1) -> str:
    """A SQLite inbox with ``n`` done events and ``dead`` dead ones, written through the library."""
    url = "sqlite:///" + str(tmp_path / "inbox.db")
    settings = Settings.from_dict(
        {"store": url, "endpoints": {"shop": {"path": "/s", "preset": "cimplify", "secret": "k"}}}, env={}
    )
    inbox = Inbox(settings)
    now = time.time()
    for i in range(n + dead):
        rec = EventRecord(
            endpoint="shop", id=f"evt_{i}", type="order.created", body=b"{}", headers={}, received_at=now - i
        )
        assert inbox.store.record(rec)
    for i in range(n + dead):
        assert inbox.store.claim("shop", f"evt_{i}", now, 30) is not None
        if i < n:
            inbox.store.complete("shop", f"evt_{i}", now)
        else:
            inbox.store.fail("shop", f"evt_{i}", now, "RuntimeError: boom", None)
    inbox.close()
    return url


def test_inbox_commands_work_with_a_store_url_alone(tmp_path: Path) -> None:
    """No settings file, no secrets: `inbox list/stats/replay/show` only need the store."""
    url = seeded_sqlite(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    listed = run_cli("inbox", "list", "--store", url, cwd=empty)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[2] for line in listed.stdout.splitlines()[1:]] == ["evt_0", "evt_1", "evt_2", "evt_3"]
    stats = run_cli("inbox", "stats", "--json", "--store", url, cwd=empty)
    assert json.loads(stats.stdout) == {"shop": {"done": 3, "dead": 1}}
    shown = run_cli("inbox", "show", "evt_3", "--store", url, cwd=empty)
    assert "status:        dead" in shown.stdout
    replayed = run_cli("inbox", "replay", "--dead", "--endpoint", "shop", cwd=empty, HOOKINBOX_STORE=url)
    assert replayed.returncode == 0 and replayed.stdout.startswith("replayed 1 event;"), replayed.stderr
    again = run_cli("inbox", "replay", "--dead", "--store", url, cwd=empty)
    assert again.returncode == 0 and again.stdout.strip() == "no dead events: nothing to replay"


def test_inbox_commands_with_store_ignore_a_settings_file_whose_secrets_are_not_set(tmp_path: Path) -> None:
    """On an operator's machine the secrets are not set: with --store the commands still run."""
    url = seeded_sqlite(tmp_path)
    (tmp_path / "hookinbox.toml").write_text(
        '[endpoints.shop]\npath = "/s"\npreset = "cimplify"\nsecret = "${CIMPLIFY_WEBHOOK_SECRET}"\n'
    )
    assert run_cli("inbox", "list", cwd=tmp_path).returncode == 1  # without --store the settings are needed
    done = run_cli("inbox", "list", "--store", url, cwd=tmp_path)
    assert done.returncode == 0 and "evt_0" in done.stdout, done.stderr


def test_times_are_iso_8601_with_zone_in_json_and_table(tmp_path: Path) -> None:
    url = seeded_sqlite(tmp_path, n=1, dead=0)
    rows = json.loads(run_cli("inbox", "list", "--json", "--store", url, cwd=tmp_path).stdout)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[0]["received_at"]), rows[0]
    table = run_cli("inbox", "list", "--store", url, cwd=tmp_path).stdout.splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", table[1].split()[0])
    assert table[1].split()[0] == rows[0]["received_at"][:19] + "Z"


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`hookinbox inbox list | head`: the reader is gone; no BrokenPipeError traceback, exit 0."""
    url = seeded_sqlite(tmp_path, n=50, dead=0)
    read, write = os.pipe()
    os.close(read)  # the reader left before the first line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "hookinbox", "inbox", "list", "--store", url],
            cwd=tmp_path,
            env=cli_env(tmp_path),
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.returncode == 0 and done.stderr == ""


def test_piping_to_head_in_a_shell(tmp_path: Path) -> None:
    """The same through a real shell pipeline, with more output than a pipe buffer holds."""
    url = seeded_sqlite(tmp_path, n=1500, dead=0)
    cmd = f"{sys.executable} -m hookinbox inbox list -n 1500 --store '{url}' | head -2"
    done = subprocess.run(
        ["sh", "-c", cmd], cwd=tmp_path, env=cli_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert len(done.stdout.splitlines()) == 2 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_check_reports_every_settings_mistake_at_once(tmp_path: Path) -> None:
    (tmp_path / "hookinbox.toml").write_text(
        '[hookinbox]\nexecutor = "celry"\ndedup_ttl = 7\n'
        '[endpoints.shop]\npath = "/s"\npreset = "stripe"\nsecret = "whsec_${STRIPE_SECRET}"\n'
    )
    done = run_cli("check", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: settings: hookinbox.toml: [hookinbox] executor: unknown executor 'celry'; did you mean 'celery'? "
        "(one of asyncio, auto, celery, rq, thread, threads)",
        "error: settings: hookinbox.toml: [hookinbox] dedup_ttl: 7 has no unit; write it as '7s' (or '7m', '7d', ...)",
        "error: settings: hookinbox.toml: [endpoints.shop] secret: only the prefix 'whsec_': the secret after it is "
        "missing; set STRIPE_SECRET",
        "3 problems",
    ]
    serve = run_cli("serve", "--port", "0", cwd=tmp_path)  # every command reports them all, and does not start
    assert serve.returncode == 1 and len(serve.stderr.splitlines()) == 3


def test_check_warns_about_a_literal_secret(tmp_path: Path) -> None:
    write_settings(tmp_path)
    done = run_cli("check", cwd=tmp_path)
    assert done.returncode == 0
    warnings = [line for line in done.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 5 and all('= "${' in w and "written in the file" in w for w in warnings)


@pytest.mark.parametrize("example", ["flask_app", "fastapi_app", "starlette_app", "django_project"])
def test_check_inside_an_example_folder_reports_nothing_wrong(example: str) -> None:
    """Handlers registered in the app's code and django:// are not mistakes: exit 0, no false notes."""
    done = run_cli("check", cwd=EXAMPLES / example)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "has no handlers" not in done.stdout and "error" not in done.stdout + done.stderr
    assert "registered in your app's code" in done.stdout


def test_help_texts() -> None:
    serve = run_cli("serve", "--help", cwd=EXAMPLES)
    assert "Run a standalone receiver under uvicorn" in serve.stdout
    demo = run_cli("demo", "--help", cwd=EXAMPLES)
    text = " ".join(demo.stdout.split())
    assert "(default: the example settings shipped with hookinbox)" in text
    assert "(default: a temporary SQLite file, deleted at exit)" in text
    assert "$HOOKINBOX_SETTINGS" in " ".join(run_cli("check", "--help", cwd=EXAMPLES).stdout.split())


def test_one_event_is_singular(tmp_path: Path) -> None:
    url = seeded_sqlite(tmp_path, n=1, dead=0)
    write_settings(tmp_path, store=url)
    done = run_cli("check", cwd=tmp_path)
    assert done.stdout.splitlines()[-1].endswith(": 1 event"), done.stdout


def test_replay_of_a_dead_event_status_is_pending_after(tmp_path: Path) -> None:
    url = seeded_sqlite(tmp_path, n=0, dead=1)
    assert run_cli("inbox", "replay", "evt_0", "--store", url, cwd=tmp_path).returncode == 0
    inbox = Inbox(Settings(endpoints={}, store=url))
    record = inbox.store.get("shop", "evt_0")
    assert record is not None and record.status is Status.PENDING
    inbox.close()


def test_handler_and_store_errors_name_the_setting_and_the_file(tmp_path: Path) -> None:
    """`serve` with a handler that does not import, `check` with a store that does not answer: key and file."""
    write_settings(tmp_path, handler="no_such_module_q:fn")
    served = run_cli("serve", "--port", "0", cwd=tmp_path)
    assert served.returncode == 1
    assert served.stderr.strip().splitlines()[-1] == (  # after the warnings about the literal secrets
        'hookinbox: error: hookinbox.toml: [endpoints.orders.handlers] "*": cannot import handler '
        "'no_such_module_q:fn': no module named 'no_such_module_q'"
    )
    write_settings(tmp_path, store="redis://127.0.0.1:1/0")
    checked = run_cli("check", cwd=tmp_path)
    assert checked.returncode == 1
    assert "error: store redis://127.0.0.1:1/0 (hookinbox.store in hookinbox.toml): unreachable: " in checked.stderr
