"""The wheel carries what an installed hookinbox needs: py.typed (the package says Typing :: Typed),
the dashboard's templates and static files, and the demo's settings."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_the_wheel_ships_py_typed_and_its_data(tmp_path: Path) -> None:
    """Build the wheel as pip would and look inside."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("hookinbox-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "hookinbox/py.typed" in names
    assert "hookinbox/_examples/hookinbox.toml" in names
    assert any(n.startswith("hookinbox/dashboard/templates/") for n in names)
    assert any(n.startswith("hookinbox/dashboard/static/") for n in names)
    assert not any("__pycache__" in n for n in names)
