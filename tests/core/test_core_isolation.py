"""The core stays free of frameworks, and the public namespace is what it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import hookinbox

OPTIONAL = ["starlette", "fastapi", "werkzeug", "flask", "django", "sqlalchemy", "redis", "celery", "rq", "uvicorn"]


def test_core_imports_no_optional_dependency() -> None:
    """Importing hookinbox and its core modules loads none of the optional libraries."""
    code = (
        "import sys, hookinbox, hookinbox.core, hookinbox.inbox, hookinbox.asgi, hookinbox.processing,"
        " hookinbox.executors.aio, hookinbox.executors.threads, hookinbox.stores.memory;"
        f" print(sorted(m for m in sys.modules if m.split('.')[0] in {set(OPTIONAL)!r}))"
    )
    src = str(Path(hookinbox.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"


def test_public_names_are_exported() -> None:
    """Every name in hookinbox.__all__ exists."""
    for name in hookinbox.__all__:
        assert hasattr(hookinbox, name), name
