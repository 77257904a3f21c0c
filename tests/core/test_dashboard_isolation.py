"""The dashboard's Jinja2 stays out of the core; without it, importing the dashboard says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import hookinbox

SRC = str(Path(hookinbox.__file__).resolve().parent.parent)


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC})


def test_core_and_stores_do_not_import_jinja2() -> None:
    """The core, the inbox and the memory store (with its dashboard queries) load no Jinja2."""
    done = run("import sys, hookinbox, hookinbox.inbox, hookinbox.stores.memory, hookinbox.stores._query;"
               " print('jinja2' in sys.modules)")  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr


def test_dashboard_without_jinja2_names_the_extra() -> None:
    """Importing hookinbox.dashboard without Jinja2 fails with the pip command to run."""
    done = run("import sys; sys.modules['jinja2'] = None; import hookinbox.dashboard")
    assert done.returncode != 0 and "pip install 'hookinbox[dashboard]'" in done.stderr
