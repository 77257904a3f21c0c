"""Each example's README block, as documented: its extras hold what the run command needs, and the run
command (not only the app object) serves signed deliveries.

The install line itself is not run (the packages are in the test virtualenv already); what it would
install is checked against pyproject.toml's extras instead, so a missing server or framework fails here.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from integration_helpers import EXAMPLES, example_env, exercise_example, free_port, server

from hookinbox.settings import Settings

pytestmark = pytest.mark.slow

ROOT = EXAMPLES.parent
#: what each example's app imports (its framework), besides the server its run command starts
FRAMEWORK = {"flask_app": "flask", "fastapi_app": "fastapi", "starlette_app": "starlette", "django_project": "django"}


def documented_block(example: str) -> list[str]:
    """The lines of the bash block that follows the ``example-command`` marker in the example's README."""
    text = (EXAMPLES / example / "README.md").read_text()
    m = re.search(r"<!-- example-command[^>]*-->\s*```bash\n(.*?)```", text, re.S)
    assert m, f"examples/{example}/README.md has no example-command block"
    return [line.strip() for line in m.group(1).splitlines() if line.strip()]


def extras_contents(names: list[str]) -> set[str]:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    out: set[str] = set()
    for name in names:
        for req in extras[name]:
            out.add(re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0].lower())
    return out


@pytest.mark.parametrize("example", sorted(FRAMEWORK))
def test_the_install_line_installs_what_the_run_command_needs(example: str) -> None:
    lines = documented_block(example)
    assert lines[0] == f"cd examples/{example}"
    install = lines[1]
    m = re.fullmatch(r"python -m pip install -e '\.\./\.\.\[([a-z,]+)\]'", install)
    assert m, install
    installed = extras_contents(m.group(1).split(","))
    run = shlex.split(lines[-1])
    assert run[0] in installed, f"{run[0]} (the run command) is in none of the extras {m.group(1)}"
    assert FRAMEWORK[example] in installed


@pytest.mark.parametrize("example", sorted(FRAMEWORK))
def test_the_documented_commands_run_and_receive_signed_deliveries(tmp_path: Path, example: str) -> None:
    lines = documented_block(example)
    folder = EXAMPLES / example
    env = example_env(tmp_path, DJANGO_DB_PATH=str(tmp_path / "db.sqlite3"))
    bin_dir = str(Path(__import__("sys").executable).parent)
    env["PATH"] = bin_dir + ":" + env.get("PATH", "")  # `python`, `gunicorn`, `uvicorn` of this virtualenv
    for line in lines[2:-1]:  # the steps between install and run (Django's migrate)
        subprocess.run(shlex.split(line), cwd=folder, env=env, check=True, timeout=120)
    port = free_port()
    run = [part.replace("8000", str(port)) for part in shlex.split(lines[-1])]
    assert run != shlex.split(lines[-1]), "the run command names no port 8000 to replace"
    settings = Settings.from_file(folder / "hookinbox.toml", env={})
    with server(run, folder, env, port, tmp_path / "server.log") as base:
        exercise_example(base, settings, tmp_path / "events.jsonl")
        if example == "django_project":
            import httpx

            r = httpx.post(base + "/echo", content=b"not json", headers={"content-type": "text/plain"})
            assert r.status_code == 400 and r.json()["error"] == "the body is not JSON"
