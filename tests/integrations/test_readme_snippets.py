"""README snippets run as written: the pytest example (with its imports and fixture) and `hookinbox send`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from integration_helpers import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def block_after(marker: str, lang: str) -> str:
    m = re.search(rf"<!-- {marker}[^>]*-->\s*```{lang}\n(.*?)```", README, re.S)
    assert m, f"README.md has no {marker} block"
    return m.group(1)


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("HOOKINBOX_")}
    out["PYTHONPATH"] = str(ROOT / "src")
    return out


def test_the_pytest_snippet_passes_as_a_test_file(tmp_path: Path) -> None:
    """Copied into a file of its own, the README's test passes with the plugin hookinbox installs (entry point)."""
    (tmp_path / "test_readme.py").write_text(block_after("readme-pytest", "python"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "test_readme.py",
        ],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_send_example_matches_the_settings_example(tmp_path: Path) -> None:
    """`hookinbox send pharmacy` works with the README's own settings: it signs and POSTs (nobody listens)."""
    toml = re.search(r"### Settings\s*```toml\n(.*?)```", README, re.S)
    assert toml
    (tmp_path / "hookinbox.toml").write_text(toml.group(1))
    cli = re.search(r"^hookinbox send (\S+)", README, re.M)
    assert cli
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "hookinbox", "send", cli.group(1), "--url", f"http://127.0.0.1:{port}"],
        cwd=tmp_path,
        env={**env(), "NIMBUS_API_KEY": "k", "CIMPLIFY_SECRET": "c"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.startswith(f"POST http://127.0.0.1:{port}/webhooks/nimbus "), done.stdout + done.stderr
    assert "Connection refused" in done.stderr
