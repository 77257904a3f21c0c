"""Settings: every error message, interpolation, units, sqlite paths, presets, secrets synonyms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hookinbox._settings_build import interpolate
from hookinbox.errors import ConfigurationError
from hookinbox.presets import PRESETS
from hookinbox.settings import RetryPolicy, Settings
from hookinbox.units import parse_duration, parse_size
from hookinbox.verifiers.apikey import ApiKeyVerifier
from hookinbox.verifiers.hmac import HmacVerifier


def ep(**kw: Any) -> dict[str, Any]:
    """A valid Cimplify endpoint; a keyword set to None removes that key."""
    base: dict[str, Any] = {"path": "/wh", "preset": "cimplify", "secret": "s"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def shop(**kw: Any) -> dict[str, Any]:
    return {"endpoints": {"shop": ep(**kw)}}


def glob(**kw: Any) -> dict[str, Any]:
    return {"hookinbox": kw, "endpoints": {"shop": ep()}}


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("unknown global key", glob(dedup_tl="1d"), "hookinbox.dedup_tl: unknown setting; did you mean 'dedup_ttl'?"),
    (
        "typo of endpoints",
        {"endpoint": {}, "endpoints": {"shop": ep()}},
        "endpoint: unknown setting; did you mean 'endpoints'?",
    ),
    ("unknown endpoint key", shop(secrte="x"), "endpoints.shop.secrte: unknown setting; did you mean 'secret'?"),
    ("no endpoints", {"hookinbox": {}}, "endpoints: no endpoints configured; add an [endpoints.NAME] table"),
    ("endpoint not a table", {"endpoints": {"shop": "x"}}, "endpoints.shop: expected a table"),
    (
        "secret from an unset variable",
        shop(secret="${CIMPLIFY_SECRET}"),
        "endpoints.shop.secret: empty; set CIMPLIFY_SECRET",
    ),
    (
        "verify.secrets from an unset variable",
        shop(secret=None, verify={"secrets": "${CIMPLIFY_SECRET}"}),
        "endpoints.shop.verify.secrets: empty; set CIMPLIFY_SECRET",
    ),
    (
        "no secret at all",
        shop(secret=None),
        'endpoints.shop.secret: no secret configured; e.g. secret = "${CIMPLIFY_WEBHOOK_SECRET}"',
    ),
    ("two secret keys", shop(secrets=["a"]), "endpoints.shop.secrets: give only one of secret, secrets"),
    (
        "api_key on an hmac scheme",
        shop(secret=None, api_key="k"),
        "endpoints.shop.api_key: `api_key` is for api-key schemes; use `secret`/`secrets`",
    ),
    ("secret not a string", shop(secret=123), "endpoints.shop.secret: expected a string or a list of strings"),
    ("path without slash", shop(path="wh"), "endpoints.shop.path: missing or not starting with '/'"),
    (
        "path from an unset variable",
        shop(path="${SHOP_PATH}"),
        "endpoints.shop.path: missing or not starting with '/'; set SHOP_PATH",
    ),
    (
        "duplicate path",
        {"endpoints": {"shop": ep(), "b": ep()}},
        "endpoints.b.path: path /wh is already used by endpoint 'shop'",
    ),
    (
        "unknown preset",
        shop(preset="nosuch"),
        "endpoints.shop.preset: unknown preset 'nosuch'; one of cimplify, generic, github, nimbus, nimbus-orders, novamed, shopify, slack, standard-webhooks, stripe, svix",
    ),
    (
        "no authentication",
        {"endpoints": {"shop": {"path": "/wh"}}},
        "endpoints.shop: no authentication: set `preset` or a `verify` table",
    ),
    (
        "bad duration",
        glob(dedup_ttl="7 days"),
        "hookinbox.dedup_ttl: expected a duration such as '250ms', '30s', '5m', '2h' or '7d', got '7 days'",
    ),
    (
        "bad size",
        glob(max_body="1 TB"),
        "hookinbox.max_body: expected a size such as '64KB', '1MB' or '1MiB', got '1 TB'",
    ),
    (
        "bad endpoint size",
        shop(max_body="big"),
        "endpoints.shop.max_body: expected a size such as '64KB', '1MB' or '1MiB', got 'big'",
    ),
    (
        "bad endpoint attempts",
        shop(max_attempts="many"),
        "endpoints.shop.max_attempts: expected a whole number, got 'many'",
    ),
    ("zero endpoint attempts", shop(max_attempts=0), "endpoints.shop.max_attempts: must be at least 1"),
    ("zero global attempts", glob(max_attempts=0), "hookinbox.max_attempts: must be at least 1"),
    ("bad bool", glob(log_bodies="maybe"), "hookinbox.log_bodies: expected true or false, got 'maybe'"),
    (
        "bad endpoint bool",
        shop(store_payload="perhaps"),
        "endpoints.shop.store_payload: expected true or false, got 'perhaps'",
    ),
    ("negative int", glob(workers=-1), "hookinbox.workers: expected a whole number, got -1"),
    ("empty store", glob(store=""), "hookinbox.store: expected a non-empty string, got ''"),
    (
        "store from an unset variable",
        glob(store="${STORE_URL}"),
        "hookinbox.store: expected a non-empty string, got ''; set STORE_URL",
    ),
    ("table expected", glob(store_options="x"), "hookinbox.store_options: expected a table"),
    (
        "dedup_ttl shorter than the retry horizon",
        {
            "hookinbox": {"dedup_ttl": "1d"},
            "endpoints": {"orders": {"path": "/o", "preset": "nimbus-orders", "secret": "s"}},
        },
        "hookinbox.dedup_ttl: 1d is shorter than Nimbus OS orders API's retry horizon (1d 15s); "
        "a late retry would be handled twice",
    ),
    (
        "unknown scheme",
        {"endpoints": {"shop": {"path": "/wh", "secret": "s", "verify": {"scheme": "md5", "header": "X"}}}},
        "endpoints.shop.verify.scheme: unknown scheme 'md5'; "
        "one of api-key, apikey, github, hmac, hmac-sha1, hmac-sha256, hmac-sha512, shopify, slack, standard-webhooks, standardwebhooks, stripe, svix",
    ),
    (
        "unknown verify option",
        shop(verify={"encodng": "hex"}),
        "endpoints.shop.verify: unknown option(s) encodng; this scheme takes algorithm, encoding, header, prefix, "
        "secrets, separator, timestamp_header, tolerance",
    ),
    (
        "bad encoding",
        shop(verify={"encoding": "b32"}),
        "endpoints.shop.verify.encoding: unknown 'b32'; 'hex' or 'base64'",
    ),
    (
        "unknown event option",
        shop(event={"idd": "x"}),
        "endpoints.shop.event: unknown option(s) idd; "
        "takes data, derive, id, id_header, id_template, timestamp, type, type_header",
    ),
    (
        "bad handler reference",
        shop(handlers={"*": "nocolon"}),
        'endpoints.shop.handlers.*: expected "module:function" or a list of them',
    ),
    (
        "global given twice",
        {"hookinbox": {"workers": 1}, "workers": 2, "endpoints": {"shop": ep()}},
        "workers: given both at the top level and under [hookinbox]",
    ),
]


@pytest.mark.parametrize(("data", "message"), [(d, m) for _, d, m in BAD], ids=[n for n, _, _ in BAD])
def test_bad_settings_name_the_file_and_key(data: dict[str, Any], message: str) -> None:
    """Each bad setting fails with a message naming the source, the dotted key and the fix."""
    with pytest.raises(ConfigurationError) as info:
        Settings.from_dict(data, env={}, source="hookinbox.toml")
    assert str(info.value) == f"hookinbox.toml: {message}"


def test_unknown_key_without_a_close_match_lists_the_known_ones() -> None:
    """An unknown key that resembles nothing is answered with the list of known keys."""
    with pytest.raises(ConfigurationError) as info:
        Settings.from_dict(glob(zzz=1), env={})
    assert str(info.value).startswith(
        "<dict>: hookinbox.zzz: unknown setting; known settings are body_timeout, dedup_ttl,"
    )


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    """A missing file, bad TOML and a bad key in a file each name the file."""
    with pytest.raises(ConfigurationError, match=r"^settings file not found: .*nope\.toml$"):
        Settings.from_file(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[hookinbox\n")
    with pytest.raises(ConfigurationError, match=rf"^{bad}: not valid TOML: "):
        Settings.from_file(bad)
    typo = tmp_path / "hookinbox.toml"
    typo.write_text('[hookinbox]\nworkers = "x"\n[endpoints.shop]\npath = "/wh"\npreset = "cimplify"\nsecret = "s"\n')
    with pytest.raises(ConfigurationError) as info:
        Settings.from_file(typo)
    assert str(info.value) == f"{typo}: [hookinbox] workers: expected a whole number, got 'x'"  # as the file reads
    assert info.value.key == "hookinbox.workers"


def test_interpolation_forms() -> None:
    """${VAR}, ${VAR:-default}, $$ and plain $ expand as documented; unset names are reported."""
    missing: list[str] = []
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("x${A}y", env, missing) == "x1y"
    assert interpolate("${B:-dflt}", env, missing) == "dflt"
    assert interpolate("${EMPTY:-dflt}", env, missing) == "dflt"  # set but empty counts as unset
    assert interpolate("${A:-dflt}", env, missing) == "1"
    assert interpolate("$$A and $A", env, missing) == "$A and $A"
    assert missing == []
    assert interpolate("${B}-${C}", env, missing) == "-"
    assert missing == ["B", "C"]


def test_interpolation_reaches_every_value() -> None:
    """Secrets, durations, sizes, ints and paths are all interpolated before validation."""
    env = {"SECRET": "k", "TTL": "10d", "BODY": "2MB", "W": "3", "P": "/hooks/shop"}
    data = {
        "hookinbox": {"dedup_ttl": "${TTL}", "max_body": "${BODY}", "workers": "${W}"},
        "endpoints": {"shop": {"path": "${P}", "preset": "cimplify", "secret": "${SECRET}"}},
    }
    s = Settings.from_dict(data, env=env)
    assert (s.dedup_ttl, s.max_body, s.workers) == (864000.0, 2_000_000, 3)
    assert s.endpoints["shop"].path == "/hooks/shop"
    assert s.endpoints["shop"].verifier.headers_for(b"{}", 0) == HmacVerifier(
        header="x-cimplify-signature", secrets=[b"k"]
    ).headers_for(b"{}", 0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (30, 30.0),
        (1.5, 1.5),
        ("250ms", 0.25),
        ("30s", 30.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("7d", 604800.0),
        ("1w", 604800.0),
        ("45", 45.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    """Durations accept numbers of seconds and ms/s/m/h/d/w suffixes."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "size"),
    [(1024, 1024), ("512KB", 512_000), ("1MB", 1_000_000), ("1MiB", 1_048_576), ("1gb", 10**9), ("10b", 10)],
)
def test_sizes(text: object, size: int) -> None:
    """Sizes accept bytes and KB/MB/GB (powers of 1000) or KiB/MiB/GiB (powers of 1024)."""
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["-1s", "7 days", True, -5, "1y"])
def test_bad_durations(bad: object) -> None:
    """Anything else is a ValueError (the settings turn it into a keyed ConfigurationError)."""
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_defaults_and_given_keys() -> None:
    """Unset globals take the documented defaults; `given` records which ones were set."""
    s = Settings.from_dict(glob(workers=2), env={})
    assert s.store == "memory://" and s.dedup_ttl == 7 * 86400 and s.max_body == 1_000_000
    assert s.given == frozenset({"workers"})
    shop_ep = s.endpoints["shop"]
    assert shop_ep.retry == RetryPolicy(max_attempts=5, delay=10.0, max_delay=3600.0)
    assert shop_ep.store_payload is True and shop_ep.max_body == 1_000_000


def test_endpoint_overrides_globals() -> None:
    """Per-endpoint max_body, retries and store_payload override the global ones."""
    data = {
        "hookinbox": {"max_attempts": 3, "retry_delay": "1s", "max_body": "10KB", "store_payload": False},
        "endpoints": {
            "a": ep(path="/a"),
            "b": ep(path="/b", max_attempts=7, retry_max_delay="1m", max_body="1KiB", store_payload=True),
        },
    }
    s = Settings.from_dict(data, env={})
    a, b = s.endpoints["a"], s.endpoints["b"]
    assert (a.retry.max_attempts, a.retry.delay, a.max_body, a.store_payload) == (3, 1.0, 10_000, False)
    assert (b.retry.max_attempts, b.retry.max_delay, b.max_body, b.store_payload) == (7, 60.0, 1024, True)


def test_globals_at_top_level_for_django_and_flask_dicts() -> None:
    """A dict (Django HOOKINBOX, Flask config) may put the globals at the top level."""
    s = Settings.from_dict({"workers": 4, "dedup_ttl": "8d", "endpoints": {"shop": ep()}}, env={})
    assert (s.workers, s.dedup_ttl) == (4, 8 * 86400.0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///inbox.db", "sqlite:///{base}/inbox.db"),
        ("sqlite:///data/inbox.db?timeout=5", "sqlite:///{base}/data/inbox.db?timeout=5"),
        ("sqlite+pysqlite:///inbox.db", "sqlite+pysqlite:///{base}/inbox.db"),
        ("sqlite:////abs/inbox.db", "sqlite:////abs/inbox.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite://", "sqlite://"),
        ("memory://", "memory://"),
    ],
)
def test_relative_sqlite_paths_are_relative_to_the_file(tmp_path: Path, url: str, expected: str) -> None:
    """A relative sqlite path in a settings file resolves against that file's directory, not the cwd."""
    conf = tmp_path / "conf" / "hookinbox.toml"
    conf.parent.mkdir()
    conf.write_text(
        f'[hookinbox]\nstore = "{url}"\n[endpoints.shop]\npath = "/wh"\npreset = "cimplify"\nsecret = "s"\n'
    )
    assert Settings.from_file(conf).store == expected.format(base=conf.parent.resolve())


def test_dict_sqlite_paths_stay_as_given() -> None:
    """Without a file there is nothing to be relative to: the path is left to the working directory."""
    assert Settings.from_dict(glob(store="sqlite:///inbox.db"), env={}).store == "sqlite:///inbox.db"


SEED_PRESETS = ["cimplify", "generic", "nimbus", "nimbus-orders", "novamed"]


@pytest.mark.parametrize("preset", SEED_PRESETS)
def test_every_seed_preset_builds_and_verifies_its_own_samples(preset: str) -> None:
    """Each seed preset (the others: tests/core/test_schemes_presets.py), given only a secret, verifies the deliveries its verifier signs and reads each sample's type."""
    p = PRESETS[preset]
    s = Settings.from_dict({"endpoints": {"x": {"path": "/x", "preset": preset, "secret": "k"}}}, env={})
    x = s.endpoints["x"]
    assert x.preset is p
    for sample in p.samples:
        body = repr(sample).encode()
        x.verifier.verify({k.lower(): v for k, v in x.verifier.headers_for(body, 0).items()}, body, 0)
        assert x.mapping.event_type(sample, {}) == p.event_type_of(sample)
    kind = ApiKeyVerifier if p.verify["scheme"] == "api-key" else HmacVerifier
    assert isinstance(x.verifier, kind)


@pytest.mark.parametrize(
    ("preset", "key", "value"),
    [
        ("cimplify", "secret", "k1"),
        ("cimplify", "secrets", ["k1", "k2"]),
        ("nimbus", "secret", "k1"),
        ("nimbus", "secrets", ["k1", "k2"]),
        ("nimbus", "api_key", "k1"),
        ("nimbus", "api_keys", ["k1", "k2"]),
        ("novamed", "api_key", "k1"),
        ("cimplify", "verify", {"secrets": ["k1", "k2"]}),
        ("nimbus", "verify", {"keys": ["k1", "k2"]}),
    ],
)
def test_secret_synonyms(preset: str, key: str, value: Any) -> None:
    """secret/secrets work for every scheme, api_key(s) for API-key schemes, verify.secrets/keys too."""
    s = Settings.from_dict({"endpoints": {"x": {"path": "/x", "preset": preset, key: value}}}, env={})
    verifier = s.endpoints["x"].verifier
    header = str(PRESETS[preset].verify["header"]).lower()
    expected = (
        HmacVerifier(header=header, secrets=[b"k1"]).headers_for(b"b", 0) if preset == "cimplify" else {header: "k1"}
    )
    assert verifier.headers_for(b"b", 0) == expected
    if isinstance(value, list) or isinstance(value, dict):
        second = (
            HmacVerifier(header=header, secrets=[b"k2"]).headers_for(b"b", 0)
            if preset == "cimplify"
            else {header: "k2"}
        )
        verifier.verify(second, b"b", 0)  # rotation: the second secret is accepted too


def test_unset_secrets_in_a_rotation_list_are_dropped() -> None:
    """secrets = ["${OLD}", "${NEW}"] with only NEW set keeps NEW and does not fail."""
    s = Settings.from_dict(shop(secret=None, secrets=["${OLD}", "${NEW}"]), env={"NEW": "n"})
    assert s.endpoints["shop"].verifier.headers_for(b"b", 0) == HmacVerifier(
        header="x-cimplify-signature", secrets=[b"n"]
    ).headers_for(b"b", 0)


def test_a_different_scheme_replaces_the_preset_verify_options() -> None:
    """verify.scheme other than the preset's starts from an empty verify table, not a mix."""
    data = shop(verify={"scheme": "api-key", "header": "X-Token"})
    verifier = Settings.from_dict(data, env={}).endpoints["shop"].verifier
    assert isinstance(verifier, ApiKeyVerifier) and verifier.header == "x-token"


def test_dedup_ttl_equal_to_the_horizon_is_accepted() -> None:
    """dedup_ttl only fails when shorter than a preset's retry horizon."""
    horizon = PRESETS["nimbus-orders"].retry_horizon
    data = {
        "hookinbox": {"dedup_ttl": horizon},
        "endpoints": {"o": {"path": "/o", "preset": "nimbus-orders", "secret": "s"}},
    }
    assert Settings.from_dict(data, env={}).dedup_ttl == horizon


def test_paths_are_normalised_and_handlers_kept() -> None:
    """A trailing slash is dropped from paths; handler references are kept per pattern."""
    s = Settings.from_dict(shop(path="/wh/", handlers={"order.*": "m:f", "*": ["m:g", "m:h"]}), env={})
    assert s.endpoints["shop"].path == "/wh"
    assert s.endpoints["shop"].handlers == {"order.*": ("m:f",), "*": ("m:g", "m:h")}


def test_credential_headers_are_sensitive() -> None:
    """The API-key header, Authorization and cookies are never stored."""
    s = Settings.from_dict({"endpoints": {"p": {"path": "/p", "preset": "nimbus", "secret": "k"}}}, env={})
    assert {"x-api-key", "authorization", "cookie"} <= s.endpoints["p"].sensitive_headers
