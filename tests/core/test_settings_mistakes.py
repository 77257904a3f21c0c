"""Settings mistakes a newcomer makes: all reported at once, each with file and key, none passing silently.

Issue 16 rows 2, 3, 14 and issue 17's settings bullets; standard library only (tests/core).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path
from typing import Any

import pytest

from hookinbox.errors import AuthenticationFailed, ConfigurationError, SettingsErrors
from hookinbox.handlers import Registrations, import_handler, resolve
from hookinbox.inbox import Inbox
from hookinbox.presets import PRESETS
from hookinbox.settings import Settings, load_settings, settings_path_from_env
from hookinbox.units import parse_duration, parse_size
from hookinbox.verifiers import SCHEMES, build_verifier


def write(tmp_path: Path, text: str, name: str = "hookinbox.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def messages(exc: ConfigurationError) -> list[str]:
    return [str(e) for e in exc.errors] if isinstance(exc, SettingsErrors) else [str(exc)]


SEVERAL = """
[hookinbox]
executor = "celry"
dedup_ttl = 7
workers = "²"

[endpoints.shop]
path = "/wh"
preset = "cimplify"
secret = "${NOT_SET_ANYWHERE}"
max_attempts = 5000

[endpoints.pay]
path = "/pay"
preset = "stripe"
secret = "whsec_${STRIPE_NOT_SET}"
hander = "x:y"
"""


def test_a_file_with_several_mistakes_reports_every_one_with_file_and_key(tmp_path: Path) -> None:
    """Six mistakes in one file: one SettingsErrors listing each as `FILE: KEY: problem`, in file order."""
    path = write(tmp_path, SEVERAL)
    with pytest.raises(SettingsErrors) as info:
        Settings.from_file(path, env={})
    got = messages(info.value)
    f = str(path)
    assert got == [
        f"{f}: [hookinbox] executor: unknown executor 'celry'; did you mean 'celery'? "
        "(one of asyncio, auto, celery, rq, thread, threads)",
        f"{f}: [hookinbox] dedup_ttl: 7 has no unit; write it as '7s' (or '7m', '7d', ...)",
        f"{f}: [hookinbox] workers: expected a whole number, got '²'",
        f"{f}: [endpoints.shop] secret: empty; set NOT_SET_ANYWHERE",
        f"{f}: [endpoints.shop] max_attempts: 5000 is more than 100; with exponential backoff the last retries "
        "would wait retry_max_delay each: use a longer retry_max_delay instead",
        f"{f}: [endpoints.pay] hander: unknown setting; did you mean 'handlers'?",
        f"{f}: [endpoints.pay] secret: only the prefix 'whsec_': the secret after it is missing; set STRIPE_NOT_SET",
    ]
    assert str(info.value).splitlines()[0] == f"7 problems in {f}:"
    assert isinstance(info.value, ConfigurationError)  # callers catching the one error type still catch it


def test_an_unset_variable_inside_a_longer_value_is_an_error() -> None:
    """`"whsec_${X}"`, `"/hooks/${X}"`, a prefix option: an unset variable anywhere in a value fails."""
    data = {
        "endpoints": {
            "pay": {"path": "/pay/${TENANT}", "preset": "stripe", "secret": "whsec_abc${SUFFIX}"},
            "gen": {"path": "/gen", "preset": "generic", "secret": "k", "verify": {"prefix": "${PFX}"}},
        }
    }
    with pytest.raises(SettingsErrors) as info:
        Settings.from_dict(data, env={}, source="s.toml")
    assert sorted(messages(info.value)) == [
        "s.toml: endpoints.gen.verify.prefix: ${PFX} is not set; set PFX (or write ${PFX:-default} for an "
        "optional value)",
        "s.toml: endpoints.pay.path: ${TENANT} is not set; set TENANT (or write ${TENANT:-default} for an "
        "optional value)",
        "s.toml: endpoints.pay.secret: ${SUFFIX} is not set; set SUFFIX (or write ${SUFFIX:-default} for an "
        "optional value)",
    ]
    # the explicit default form stays allowed, and an empty default too
    ok = Settings.from_dict(
        {"endpoints": {"g": {"path": "/g${SUB:-}", "preset": "generic", "secret": "k${X:-y}"}}}, env={}
    )
    assert ok.endpoints["g"].path == "/g"


def test_the_stripe_whsec_case_of_issue_16_row_2_never_starts(tmp_path: Path) -> None:
    """`secret = "whsec_${STRIPE_SECRET}"` with the variable unset: a settings error, not a key anyone can sign with."""
    path = write(tmp_path, '[endpoints.pay]\npath = "/pay"\npreset = "stripe"\nsecret = "whsec_${STRIPE_SECRET}"\n')
    with pytest.raises(ConfigurationError) as info:
        Settings.from_file(path, env={})
    assert str(info.value) == (
        f"{path}: [endpoints.pay] secret: only the prefix 'whsec_': the secret after it is missing; set STRIPE_SECRET"
    )
    assert Settings.from_file(path, env={"STRIPE_SECRET": "abc"}).endpoints["pay"].path == "/pay"


BLANK_OR_PREFIX = ["", "   ", "\t", "whsec_", " whsec_ ", "sha256=", "v0=", "v1,", "SHA256="]


@pytest.mark.parametrize("secret", BLANK_OR_PREFIX)
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_blank_or_prefix_only_secrets_are_refused_on_every_preset(preset: str, secret: str) -> None:
    """Every preset refuses an empty, whitespace-only or prefix-only secret when the settings are read."""
    with pytest.raises(ConfigurationError) as info:
        Settings.from_dict({"endpoints": {"x": {"path": "/x", "preset": preset, "secret": secret}}}, env={})
    assert info.value.key == "endpoints.x.secret"
    assert info.value.message.split(" ")[0] in ("empty", "blank", "only")


@pytest.mark.parametrize("secret", ["   ", "whsec_", "sha256="])
@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_blank_or_prefix_only_secrets_are_refused_by_every_scheme_directly(scheme: str, secret: str) -> None:
    """build_verifier (and so hookinbox.verify) refuses them too, for every registered scheme."""
    options: dict[str, Any] = {"scheme": scheme, "secrets": [secret]}
    if scheme.startswith("hmac") or scheme in ("api-key", "apikey"):
        options["header"] = "X-Sig"
    with pytest.raises(ConfigurationError, match=r"blank|only the prefix"):
        build_verifier(options)


def test_an_unset_rotation_entry_is_still_dropped_when_another_secret_is_left() -> None:
    """secrets = ["${OLD}", "${NEW}"] keeps working during a rotation (documented), a partial one does not."""
    ok = Settings.from_dict(
        {"endpoints": {"s": {"path": "/s", "preset": "cimplify", "secrets": ["${OLD}", "${NEW}"]}}}, env={"NEW": "n"}
    )
    assert ok.endpoints["s"].path == "/s"
    with pytest.raises(ConfigurationError, match=r"^<dict>: endpoints.s.secrets: \$\{OLD\} is not set"):
        Settings.from_dict(
            {"endpoints": {"s": {"path": "/s", "preset": "cimplify", "secrets": ["old-${OLD}", "${NEW}"]}}},
            env={"NEW": "n"},
        )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("dedup_ttl", math.nan, "a duration must be a finite number, got nan"),
        ("lease", math.inf, "a duration must be a finite number, got inf"),
        ("sweep_interval", "0s", "must be more than 0"),
        ("body_timeout", "inf", "expected a duration such as '250ms', '30s', '5m', '2h' or '7d', got 'inf'"),
        ("max_body", math.inf, "expected a size such as '64KB', '1MB' or '1MiB', got inf"),
        ("max_body", math.nan, "expected a size such as '64KB', '1MB' or '1MiB', got nan"),
        ("max_body", 0, "must be more than 0 bytes"),
        ("retry_after", "٣", "expected a whole number, got '٣'"),
        ("max_attempts", 101, "101 is more than 100"),
    ],
)
def test_durations_and_sizes_are_finite_and_positive(key: str, value: Any, message: str) -> None:
    """nan and inf (TOML has both) and zero where it means nothing are settings errors (issue 16 row 14)."""
    with pytest.raises(ConfigurationError) as info:
        Settings.from_dict(
            {"hookinbox": {key: value}, "endpoints": {"s": {"path": "/s", "preset": "cimplify", "secret": "k"}}},
            env={},
        )
    assert info.value.key == f"hookinbox.{key}" and info.value.message.startswith(message)


def test_a_nan_tolerance_in_a_toml_file_is_refused(tmp_path: Path) -> None:
    """`tolerance = nan` would make every timestamp comparison false: refused with its key."""
    path = write(
        tmp_path,
        '[endpoints.pay]\npath = "/pay"\npreset = "stripe"\nsecret = "whsec_k"\n[endpoints.pay.verify]\n'
        "tolerance = nan\n",
    )
    with pytest.raises(ConfigurationError) as info:
        Settings.from_file(path)
    assert str(info.value) == f"{path}: [endpoints.pay.verify] tolerance: a duration must be a finite number, got nan"


def test_units_refuse_non_finite_and_non_ascii_numbers() -> None:
    for bad in (math.nan, math.inf, -math.inf, "nan", "inf", "²s", "1e999s"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    for bad in (math.nan, math.inf, "nan", "1e999", "²KB"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert parse_duration("7d", bare_numbers=False) == 7 * 86400
    assert parse_duration(0, bare_numbers=False) == 0
    with pytest.raises(ValueError, match="has no unit"):
        parse_duration("7", bare_numbers=False)


def test_bare_numbers_are_refused_in_files_and_seconds_in_python_dicts(tmp_path: Path) -> None:
    """`dedup_ttl = 7` in a file is refused (7 what?); a Python dict keeps seconds, as Python timeouts do."""
    body = '[endpoints.s]\npath = "/s"\npreset = "cimplify"\nsecret = "${S}"\n'
    path = write(tmp_path, "[hookinbox]\nlease = 300\n" + body)
    with pytest.raises(ConfigurationError, match=r"\[hookinbox\] lease: 300 has no unit; write it as '300s'"):
        Settings.from_file(path, env={"S": "k"})
    path = write(tmp_path, '[hookinbox]\nlease = "300s"\nrecover_after = 0\n' + body)
    assert Settings.from_file(path, env={"S": "k"}).lease == 300.0
    s = Settings.from_dict({"lease": 300, "endpoints": {"s": {"path": "/s", "preset": "cimplify", "secret": "k"}}})
    assert s.lease == 300.0


def test_executor_choices_with_did_you_mean() -> None:
    def build(executor: str) -> Settings:
        return Settings.from_dict(
            {"executor": executor, "endpoints": {"s": {"path": "/s", "preset": "cimplify", "secret": "k"}}}, env={}
        )

    with pytest.raises(
        ConfigurationError, match=r"^<dict>: executor: unknown executor 'celry'; did you mean 'celery'\?"
    ):
        build("celry")
    assert build("Thread").executor == "thread"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("mysql://root@h/test", "mysql+pymysql://root@h/test"),
        ("mariadb://root@h/test", "mariadb+pymysql://root@h/test"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
    ],
)
def test_store_url_aliases(url: str, expected: str) -> None:
    """The spellings Heroku and others use are accepted and mapped to the driver the extra installs."""
    s = Settings.from_dict({"store": url, "endpoints": {"s": {"path": "/s", "preset": "cimplify", "secret": "k"}}})
    assert s.store == expected


def test_unknown_store_scheme_suggests_the_near_one() -> None:
    with pytest.raises(
        ConfigurationError, match=r"store: unknown store URL scheme 'postgre'; did you mean 'postgres'\?"
    ):
        Settings.from_dict(
            {"store": "postgre://x", "endpoints": {"s": {"path": "/s", "preset": "cimplify", "secret": "k"}}}
        )


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """store_driver_problem says which module is missing and which extra installs it."""
    from hookinbox._settings_build import store_driver_problem

    real = importlib.util.find_spec
    # SQLAlchemy stands in as installed, so the answer is the same with no extras at all (tox -e core)
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "psycopg" else (object() if name == "sqlalchemy" else real(name, *a)),
    )
    assert store_driver_problem("postgresql+psycopg://u@h/db") == (
        "postgresql+psycopg needs psycopg, which is not installed: pip install 'hookinbox[postgresql]'"
    )
    assert store_driver_problem("memory://") is None
    with pytest.raises(ConfigurationError) as info:  # the one loader refuses it at start-up, with the extra
        load_settings({**GOOD, "store": "postgres://u@h/db"}, source="settings.HOOKINBOX")
    assert str(info.value) == (
        "settings.HOOKINBOX: hookinbox.store: postgresql+psycopg needs psycopg, which is not installed: "
        "pip install 'hookinbox[postgresql]'"
    )


def test_a_literal_secret_in_a_file_gets_a_note_pointing_at_a_variable(tmp_path: Path) -> None:
    path = write(tmp_path, '[endpoints.shop]\npath = "/s"\npreset = "cimplify"\nsecret = "hunter2"\n')
    s = Settings.from_file(path)
    assert s.notes == (
        f"{path}: [endpoints.shop] secret: the secret is written in the file; keep it out of version control with "
        'secret = "${CIMPLIFY_WEBHOOK_SECRET}" and the variable set in the environment',
    )
    path = write(tmp_path, '[endpoints.shop]\npath = "/s"\npreset = "cimplify"\nsecret = "${S:-demo}"\n')
    assert Settings.from_file(path).notes == ()
    assert "hunter2" not in repr(s.notes)


def test_handler_import_errors_name_the_setting_and_the_file(tmp_path: Path) -> None:
    """The one resolver (pkgutil.resolve_name) says what failed to import, for which key, from which file."""
    with pytest.raises(ConfigurationError) as info:
        import_handler("no_such_mod_xyz:fn", key="endpoints.s.handlers.*", source="app.toml")
    assert str(info.value) == (
        "app.toml: endpoints.s.handlers.*: cannot import handler 'no_such_mod_xyz:fn': no module named 'no_such_mod_xyz'"
    )
    with pytest.raises(ConfigurationError, match=r"'json' has no 'nope'"):
        import_handler("json:nope")
    with pytest.raises(ConfigurationError, match=r'is not "module:attribute"'):
        resolve("json", what="handler")
    with pytest.raises(ConfigurationError, match="is not callable"):
        import_handler("json:__name__")
    assert resolve("json:dumps") is __import__("json").dumps


def test_the_worker_resolves_its_inbox_with_the_same_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    """HOOKINBOX_INBOX errors are ConfigurationErrors naming the variable, not bare ImportErrors."""
    from hookinbox.executors import worker

    with pytest.raises(ConfigurationError, match=r"^HOOKINBOX_INBOX: cannot import inbox 'nope_mod_q:inbox'"):
        worker._import("nope_mod_q:inbox")


GOOD = {"endpoints": {"s": {"path": "/s", "preset": "cimplify", "secret": "k"}}}


def test_one_loader_for_settings_mappings_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[endpoints.s]\npath = "/s"\npreset = "cimplify"\nsecret = "${S:-k}"\n')
    from_path = load_settings(path)
    assert from_path.source == str(path) and from_path.store == "memory://"
    assert load_settings(from_path) is from_path
    assert load_settings(GOOD, default_store="memory://default").store == "memory://default"  # no driver needed
    assert load_settings(str(path), store="memory://").store == "memory://"
    assert load_settings({**GOOD, "store": "memory://"}, default_store="memory://default").store == "memory://"
    with pytest.raises(ConfigurationError, match=r"^HOOKINBOX: expected a dict or a path, got int$"):
        load_settings(3, name="HOOKINBOX")  # type: ignore[arg-type]
    monkeypatch.setenv("HOOKINBOX_SETTINGS", str(path))
    monkeypatch.delenv("HOOKINBOX_CONFIG", raising=False)
    assert load_settings().source == str(path)


def test_hookinbox_config_is_a_deprecated_alias(tmp_path: Path) -> None:
    """HOOKINBOX_SETTINGS is the one variable; HOOKINBOX_CONFIG still works and warns."""
    assert settings_path_from_env({"HOOKINBOX_SETTINGS": "a.toml", "HOOKINBOX_CONFIG": "b.toml"}) == "a.toml"
    with pytest.warns(
        DeprecationWarning, match="HOOKINBOX_CONFIG is deprecated; name the settings file with HOOKINBOX_SETTINGS"
    ):
        assert settings_path_from_env({"HOOKINBOX_CONFIG": "b.toml"}) == "b.toml"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert settings_path_from_env({}) is None


def test_registrations_outlive_an_inbox() -> None:
    """One registry for the shells: handlers registered before, between and after inboxes reach every bound one."""
    reg = Registrations()

    @reg.on("order.*", endpoint="s")
    def early(event: Any) -> None: ...

    first = reg.bind(Inbox.from_settings(GOOD))

    @reg.on("*")
    def later(event: Any) -> None: ...

    second = reg.bind(Inbox.from_settings(GOOD))  # a rebuilt inbox (Django settings changed)
    for inbox in (first, second):
        assert [n for n, _ in inbox.handlers_for("s", "order.created")] == [
            f"{__name__}:test_registrations_outlive_an_inbox.<locals>.early",
            f"{__name__}:test_registrations_outlive_an_inbox.<locals>.later",
        ]
    reg.unbind(first)

    @reg.on("refund.*")
    def last(event: Any) -> None: ...

    assert len(first.handlers_for("s", "refund.x")) == 1 and len(second.handlers_for("s", "refund.x")) == 2
    with pytest.raises(ConfigurationError, match="no endpoint 'nope'"):
        reg.on("*", endpoint="nope")(early)


def test_verify_errors_are_typed() -> None:
    """AuthenticationFailed is what hookinbox.verify raises; it is a Rejected with status 401."""
    assert issubclass(AuthenticationFailed, Exception) and AuthenticationFailed().status == 401


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("hookinbox.dedup_ttl", "[hookinbox] dedup_ttl"),
        ("endpoints.shop", "[endpoints.shop]"),
        ("endpoints.shop.secret", "[endpoints.shop] secret"),
        ("endpoints.shop.verify.tolerance", "[endpoints.shop.verify] tolerance"),
        ("endpoints.shop.handlers.order.*", '[endpoints.shop.handlers] "order.*"'),
        ("endpoints", "endpoints"),
    ],
)
def test_keys_from_a_file_read_as_the_file_does(key: str, shown: str) -> None:
    """In a TOML file's errors the key is shown as table and key; dicts keep the dotted key."""
    from hookinbox.errors import toml_location

    assert toml_location(key) == shown
    assert str(ConfigurationError("m", key=key, source="f.toml", toml=True)) == f"f.toml: {shown}: m"
    assert str(ConfigurationError("m", key=key, source="settings.HOOKINBOX")) == f"settings.HOOKINBOX: {key}: m"


def test_a_worker_reads_hookinbox_settings_and_warns_on_the_old_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Celery/RQ workers load their settings file through the one loader and the one variable."""
    from hookinbox.executors import worker

    path = write(tmp_path, '[endpoints.s]\npath = "/s"\npreset = "cimplify"\nsecret = "${S:-k}"\n')
    monkeypatch.delenv("HOOKINBOX_INBOX", raising=False)
    monkeypatch.delenv("HOOKINBOX_CONFIG", raising=False)
    monkeypatch.setenv("HOOKINBOX_SETTINGS", str(path))
    assert worker._build(None).settings.source == str(path)
    monkeypatch.delenv("HOOKINBOX_SETTINGS")
    monkeypatch.setenv("HOOKINBOX_CONFIG", str(path))
    with pytest.warns(DeprecationWarning, match="HOOKINBOX_CONFIG is deprecated"):
        assert worker._build(None).settings.source == str(path)


def test_a_misspelt_preset_or_scheme_gets_a_suggestion() -> None:
    with pytest.raises(SettingsErrors) as info:
        Settings.from_dict(
            {
                "endpoints": {
                    "a": {"path": "/a", "preset": "stirpe", "secret": "whsec_k"},
                    "b": {"path": "/b", "secret": "k", "verify": {"scheme": "githib"}},
                }
            },
            env={},
        )
    got = messages(info.value)
    assert got[0].startswith("<dict>: endpoints.a.preset: unknown preset 'stirpe'") and got[0].endswith(
        "; did you mean 'stripe'?"
    )
    assert got[1].startswith("<dict>: endpoints.b.verify.scheme: unknown scheme 'githib'; did you mean 'github'?")
