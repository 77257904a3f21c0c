"""Each example under a real server (1 worker, loopback, free port): seed deliveries over HTTP."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from integration_helpers import EXAMPLES, example_env, exercise_example, free_port, gunicorn, server, uvicorn

from hookinbox.settings import Settings

pytestmark = pytest.mark.slow


def _settings(example: str) -> Settings:
    return Settings.from_file(EXAMPLES / example / "hookinbox.toml", env={})


@pytest.mark.parametrize(
    ("example", "cmd"),
    [("flask_app", gunicorn), ("fastapi_app", uvicorn), ("starlette_app", uvicorn)],
    ids=["flask-gunicorn", "fastapi-uvicorn", "starlette-uvicorn"],
)
def test_example_app_under_a_real_server(tmp_path: Path, example: str, cmd: object) -> None:
    """The example handles every seed event once, drops duplicates, refuses forgeries, keeps its routes."""
    port = free_port()
    env = example_env(tmp_path)
    with server(cmd("app:app", port), EXAMPLES / example, env, port, tmp_path / "server.log") as base:  # type: ignore[operator]
        exercise_example(base, _settings(example), tmp_path / "events.jsonl")


@pytest.mark.parametrize(
    "cmd",
    [lambda port: gunicorn("project.wsgi", port), lambda port: uvicorn("project.asgi:application", port)],
    ids=["wsgi-gunicorn", "asgi-uvicorn"],
)
def test_django_example_under_a_real_server(tmp_path: Path, cmd: object) -> None:
    """The Django example (store on its SQLite database) handles each seed event once under WSGI and ASGI."""
    db = tmp_path / "db.sqlite3"
    env = example_env(tmp_path, DJANGO_DB_PATH=str(db))
    project = EXAMPLES / "django_project"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=project, env=env, check=True, timeout=60)
    port = free_port()
    with server(cmd(port), project, env, port, tmp_path / "server.log") as base:  # type: ignore[operator]
        exercise_example(base, _settings("django_project"), tmp_path / "events.jsonl")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT endpoint, status, count(*) FROM hookinbox_event GROUP BY 1, 2").fetchall()
    expected = [("generic", "done", 1), ("novamed", "done", 2), ("orders", "done", 3), ("pharmacy", "done", 3)]
    assert sorted(rows) == [*expected, ("shop", "done", 1)], rows
