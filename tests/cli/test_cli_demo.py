"""`hookinbox demo`: the README's first command, run as a user runs it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hookinbox import Settings
from hookinbox.cli.demo import example_settings_path
from tests.cli.cli_helpers import run_cli
from tests.seeds import PROVIDERS

pytestmark = pytest.mark.slow


def check_demo_output(stdout: str, stderr: str) -> None:
    sent = [line for line in stdout.splitlines() if line.startswith("sent ")]
    assert [line.split()[1] for line in sent] == [p.preset.name for p in PROVIDERS]
    assert all(line.endswith('-> 200 {"received": true}') for line in sent)
    table = stdout.split("\n\n")[2].splitlines()
    assert table[0].split()[:5] == ["RECEIVED", "ENDPOINT", "ID", "TYPE", "STATUS"]
    assert sorted(row.split()[1] for row in table[1:]) == sorted(p.endpoint for p in PROVIDERS)
    assert all(row.split()[4] == "done" for row in table[1:])
    assert stdout.rstrip().endswith("5 events verified, recorded once and handled.")
    handled = [line for line in stderr.splitlines() if "demo_handlers: handled" in line]
    assert len(handled) == 5
    assert "patientId" not in stdout + stderr and "john@example.com" not in stdout + stderr  # never a body


def test_demo_on_a_memory_store(tmp_path: Path) -> None:
    """The demo sends one signed sample per provider over HTTP, waits for the handlers, prints the inbox, exits 0."""
    done = run_cli("demo", "--store", "memory://", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    check_demo_output(done.stdout, done.stderr)


def test_demo_on_sqlite_by_default(tmp_path: Path) -> None:
    """Without options the demo uses a temporary SQLite inbox (what `pip install '.[serve]'` provides)."""
    pytest.importorskip("hookinbox.stores.sql", reason="the SQL store is not merged into this branch yet")
    done = run_cli("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(store sqlite:///" in done.stdout
    check_demo_output(done.stdout, done.stderr)
    assert list(tmp_path.iterdir()) == []  # the temporary database is removed


def test_example_settings_cover_the_five_seed_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/hookinbox.toml configures every preset with a ${VAR:-demo} secret and a handler."""
    for p in PROVIDERS:
        monkeypatch.delenv(p.preset.secret_env, raising=False)
    path = example_settings_path()
    settings = Settings.from_file(path)
    assert sorted(ep.preset.name for ep in settings.endpoints.values() if ep.preset) == sorted(
        p.preset.name for p in PROVIDERS
    )
    raw = tomllib.loads(path.read_text())
    for name, ep in raw["endpoints"].items():
        secret = next(ep[k] for k in ("secret", "secrets", "api_key", "api_keys") if k in ep)
        secret = secret[0] if isinstance(secret, list) else secret
        env = settings.endpoints[name].preset.secret_env  # type: ignore[union-attr]
        assert secret.startswith(f"${{{env}:-"), (name, secret)
        assert settings.endpoints[name].handlers


def test_the_wheel_carries_the_demo_files() -> None:
    """`hookinbox demo` from an installed wheel, outside any checkout, finds its settings and handlers."""
    import hookinbox

    package = Path(hookinbox.__file__).resolve().parent
    if package.parent.name == "src":  # a source checkout: the wheel's force-include must name files that exist
        root = package.parent.parent
        include = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
        mapping = include["force-include"]
        assert all((root / source).is_file() for source in mapping), mapping
        assert sorted(mapping.values()) == [
            "hookinbox/_examples/demo_handlers.py",
            "hookinbox/_examples/hookinbox.toml",
        ]
    else:  # installed (tox builds a wheel): the files are in the package, and the demo takes them from there
        assert (package / "_examples" / "demo_handlers.py").is_file()
        assert example_settings_path() == package / "_examples" / "hookinbox.toml"
