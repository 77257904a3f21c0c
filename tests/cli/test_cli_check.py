"""`hookinbox check` (and every command) on good and bad settings files: precise message, exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_helpers import run_cli, write_settings

pytestmark = pytest.mark.slow

GOOD_ENDPOINT = '[endpoints.shop]\npath = "/wh"\npreset = "cimplify"\nsecret = "s"\n'

BAD_FILES = [
    (
        "secret from an unset variable",
        '[endpoints.shop]\npath = "/wh"\npreset = "cimplify"\n'
        '[endpoints.shop.verify]\nsecrets = "${CIMPLIFY_SECRET}"\n',
        "[endpoints.shop.verify] secrets: empty; set CIMPLIFY_SECRET",
    ),
    (
        "typo in a global",
        '[hookinbox]\ndedup_tll = "7d"\n' + GOOD_ENDPOINT,
        "[hookinbox] dedup_tll: unknown setting; did you mean 'dedup_ttl'?",
    ),
    (
        "typo in an endpoint",
        GOOD_ENDPOINT + 'hander = "x:y"\n',
        "[endpoints.shop] hander: unknown setting; did you mean 'handlers'?",
    ),
    (
        "bad duration",
        '[hookinbox]\nlease = "5 minutes"\n' + GOOD_ENDPOINT,
        "[hookinbox] lease: expected a duration such as '250ms', '30s', '5m', '2h' or '7d', got '5 minutes'",
    ),
    ("no endpoints", "[hookinbox]\nworkers = 2\n", "endpoints: no endpoints configured; add an [endpoints.NAME] table"),
    (
        "dedup_ttl too short",
        '[hookinbox]\ndedup_ttl = "10m"\n' + GOOD_ENDPOINT,
        "[hookinbox] dedup_ttl: 10m is shorter than Cimplify's retry horizon (36m); a late retry would be handled twice",
    ),
    (
        "unknown store scheme",
        '[hookinbox]\nstore = "mongodb://x"\n' + GOOD_ENDPOINT,
        None,  # the settings are valid; the store is not: checked below
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [(t, m) for _, t, m in BAD_FILES if m], ids=[n for n, _, m in BAD_FILES if m]
)
def test_check_reports_each_bad_settings_file(tmp_path: Path, text: str, message: str) -> None:
    """`check` prints `error: settings: FILE: KEY: problem` and exits 1."""
    (tmp_path / "hookinbox.toml").write_text(text)
    done = run_cli("check", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: settings: hookinbox.toml: {message}"


def test_serve_refuses_bad_settings_before_listening(tmp_path: Path) -> None:
    """`serve` with bad settings prints the same message and exits 1 without binding."""
    (tmp_path / "conf.toml").write_text('[hookinbox]\nworkers = "many"\n' + GOOD_ENDPOINT)
    done = run_cli("serve", "--config", "conf.toml", "--port", "0", cwd=tmp_path)
    assert done.returncode == 1
    assert (
        done.stderr.strip() == "hookinbox: error: conf.toml: [hookinbox] workers: expected a whole number, got 'many'"
    )
    assert "listening" not in done.stdout


def test_missing_settings_file(tmp_path: Path) -> None:
    """No --config, no $HOOKINBOX_SETTINGS and no ./hookinbox.toml: say how to give one."""
    done = run_cli("inbox", "stats", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "hookinbox: error: no settings file: give --config PATH, set HOOKINBOX_SETTINGS, or create ./hookinbox.toml"
    )
    done = run_cli("check", "--config", "nope.toml", cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (1, "error: settings: settings file not found: nope.toml")


def test_config_from_the_environment(tmp_path: Path) -> None:
    """$HOOKINBOX_SETTINGS names the settings file when --config is not given."""
    conf = write_settings(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    done = run_cli("check", cwd=tmp_path / "elsewhere", HOOKINBOX_SETTINGS=str(conf))
    assert done.returncode == 0, done.stderr
    assert f"ok: settings {conf}: 5 endpoints" in done.stdout
    assert "deprecated" not in done.stderr


def test_deprecated_config_variable_still_works_and_warns(tmp_path: Path) -> None:
    """$HOOKINBOX_CONFIG, the CLI's former name, still works, with a deprecation warning naming the new one."""
    conf = write_settings(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    done = run_cli("check", cwd=tmp_path / "elsewhere", HOOKINBOX_CONFIG=str(conf))
    assert done.returncode == 0, done.stderr
    assert f"ok: settings {conf}: 5 endpoints" in done.stdout
    assert (
        "hookinbox: warning: HOOKINBOX_CONFIG is deprecated; name the settings file with HOOKINBOX_SETTINGS"
        in done.stderr
    )


def test_check_passes_on_good_settings(tmp_path: Path) -> None:
    """Valid settings, importable handlers, a reachable store: one ok line each, exit 0."""
    write_settings(tmp_path)
    done = run_cli("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "ok: settings hookinbox.toml: 5 endpoints"
    assert "      shop: POST /webhooks/cimplify (preset cimplify)" in lines
    assert "ok: handlers: 5 imported" in lines
    assert lines[-1] == "ok: store memory:// (in memory: nothing survives the process): 0 events"


def test_check_reports_a_handler_that_does_not_import(tmp_path: Path) -> None:
    """A handler reference to a missing module is an error naming the key and the module."""
    write_settings(tmp_path, handler="no_such_module:fn")
    done = run_cli("check", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith(
        "error: handlers: hookinbox.toml: [endpoints.orders.handlers] \"*\": cannot import handler 'no_such_module:fn': "
        "no module named 'no_such_module'"
    )
    assert done.stderr.splitlines()[-1] == "1 problem"


def test_check_reports_an_unknown_store(tmp_path: Path) -> None:
    """A store URL no backend handles is reported with the known schemes."""
    (tmp_path / "hookinbox.toml").write_text(BAD_FILES[-1][1])
    done = run_cli("check", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        "error: settings: hookinbox.toml: [hookinbox] store: unknown store URL scheme 'mongodb' "
        "(one of mariadb, memory, mysql, postgres, postgresql, redis, rediss, sqlite)"
    )


def test_store_option_overrides_the_settings(tmp_path: Path) -> None:
    """--store wins over the settings' store, and the password in it is never printed."""
    write_settings(tmp_path, store="mongodb://x")
    done = run_cli("check", "--store", "memory://", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = run_cli("check", "--store", "foo://user:hunter2@db/x", cwd=tmp_path)
    assert done.returncode == 1 and "hunter2" not in done.stdout + done.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    """An unknown command or option is a usage error (exit 2), --version prints the version."""
    assert run_cli("frobnicate", cwd=tmp_path).returncode == 2
    done = run_cli("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, "hookinbox 0.1.0")


def test_workers_refuse_a_memory_store(tmp_path: Path) -> None:
    """--workers N with a memory store is refused: each process would de-duplicate alone."""
    write_settings(tmp_path)
    done = run_cli("serve", "--workers", "2", "--port", "0", cwd=tmp_path)
    assert done.returncode == 1
    assert "--workers 2 needs a durable store" in done.stderr


def test_check_imports_a_secret_resolver(tmp_path: Path) -> None:
    """A per-tenant endpoint: check imports its secret_resolver and names the key when it does not import."""
    (tmp_path / "tenants.py").write_text("def for_shop(headers, tenant):\n    return None\n")
    base = '[endpoints.shop]\npath = "/wh"\npreset = "shopify"\n'
    (tmp_path / "hookinbox.toml").write_text(base + 'secret_resolver = "tenants:for_shop"\n')
    done = run_cli("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ok: secret resolver of shop imported" in done.stdout
    (tmp_path / "hookinbox.toml").write_text(base + 'secret_resolver = "nowhere:for_shop"\n')
    done = run_cli("check", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith(
        "error: secret resolver: endpoints.shop.secret_resolver: cannot import 'nowhere' for secret resolver"
    )


def test_check_names_an_endpoints_ordering(tmp_path: Path) -> None:
    """An endpoint ordered by resource says by what and in which order (docs/ordering.md)."""
    conf = write_settings(tmp_path)
    conf.write_text(
        conf.read_text()
        + '[endpoints.stripe]\npath = "/stripe"\npreset = "stripe"\nsecret = "whsec_check_ordering"\n'
        + 'order_by = "data.object.id"\n'
    )
    done = run_cli("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "      stripe: POST /stripe (preset stripe; ordered by data.object.id, in created order)" in done.stdout
