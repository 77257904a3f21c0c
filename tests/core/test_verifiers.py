"""HMAC and API-key verification on the exact received bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from hookinbox.errors import AuthenticationFailed, ConfigurationError
from hookinbox.verifiers import build_verifier

BODY = b'{"id":"evt_1","type":"order.created","data":{}}'


def hexsig(secret: str, body: bytes, algo: str = "sha256") -> str:
    return hmac.new(secret.encode(), body, getattr(hashlib, algo)).hexdigest()


def test_hmac_hex_accepts_the_exact_bytes() -> None:
    """A hex HMAC-SHA256 of the body with the secret verifies."""
    v = build_verifier({"scheme": "hmac-sha256", "header": "X-Sig", "secrets": ["s"]}, "verify")
    v.verify({"x-sig": hexsig("s", BODY)}, BODY, 0)


def test_hmac_rejects_a_reserialised_body() -> None:
    """A signature over re-serialised JSON (JSON.stringify) does not verify different received bytes."""
    v = build_verifier({"scheme": "hmac-sha256", "header": "X-Sig", "secrets": ["s"]}, "verify")
    spaced = b'{"id": "evt_1", "type": "order.created", "data": {}}'
    with pytest.raises(AuthenticationFailed, match="does not match"):
        v.verify({"x-sig": hexsig("s", BODY)}, spaced, 0)


@pytest.mark.parametrize("algo", ["sha1", "sha256", "sha512"])
def test_hmac_algorithms(algo: str) -> None:
    """sha1, sha256 and sha512 each verify their own digest and reject another's."""
    v = build_verifier({"scheme": f"hmac-{algo}", "header": "X-Sig", "secrets": ["s"]}, "verify")
    v.verify({"x-sig": hexsig("s", BODY, algo)}, BODY, 0)
    other = "sha1" if algo != "sha1" else "sha256"
    with pytest.raises(AuthenticationFailed):
        v.verify({"x-sig": hexsig("s", BODY, other)}, BODY, 0)


def test_hmac_base64_with_prefix() -> None:
    """Base64 signatures with a prefix such as 'sha256=' verify; a missing prefix is refused."""
    v = build_verifier(
        {
            "scheme": "hmac",
            "algorithm": "sha256",
            "header": "X-Sig",
            "encoding": "base64",
            "prefix": "sha256=",
            "secrets": ["s"],
        },
        "verify",
    )
    sig = base64.b64encode(hmac.new(b"s", BODY, hashlib.sha256).digest()).decode()
    v.verify({"x-sig": "sha256=" + sig}, BODY, 0)
    with pytest.raises(AuthenticationFailed, match="prefix"):
        v.verify({"x-sig": sig}, BODY, 0)


def test_hmac_rotation_accepts_any_configured_secret() -> None:
    """With two secrets, a signature made with either one verifies, a third is refused."""
    v = build_verifier({"scheme": "hmac-sha256", "header": "X-Sig", "secrets": ["old", "new"]}, "verify")
    v.verify({"x-sig": hexsig("old", BODY)}, BODY, 0)
    v.verify({"x-sig": hexsig("new", BODY)}, BODY, 0)
    with pytest.raises(AuthenticationFailed):
        v.verify({"x-sig": hexsig("other", BODY)}, BODY, 0)


@pytest.mark.parametrize("value", ["", "zz-not-hex", "abcd"])
def test_hmac_missing_or_garbled_signature(value: str) -> None:
    """A missing, non-hex or wrong-length signature is a 401, never an exception of another kind."""
    v = build_verifier({"scheme": "hmac-sha256", "header": "X-Sig", "secrets": ["s"]}, "verify")
    headers = {"x-sig": value} if value else {}
    with pytest.raises(AuthenticationFailed):
        v.verify(headers, BODY, 0)


def test_hmac_signed_timestamp_and_tolerance() -> None:
    """With timestamp_header, '{ts}.{body}' is signed and stale or future timestamps are refused."""
    v = build_verifier(
        {"scheme": "hmac-sha256", "header": "X-Sig", "timestamp_header": "X-Ts", "tolerance": "5m", "secrets": ["s"]},
        "verify",
    )
    now = 1_700_000_000.0
    headers = v.headers_for(BODY, now)
    v.verify(headers, BODY, now + 299)
    with pytest.raises(AuthenticationFailed, match="tolerance"):
        v.verify(headers, BODY, now + 301)
    with pytest.raises(AuthenticationFailed, match="tolerance"):
        v.verify(headers, BODY, now - 301)


def test_headers_for_round_trips() -> None:
    """What a verifier signs with headers_for, it verifies."""
    for opts in (
        {"scheme": "hmac-sha512", "header": "X-S", "encoding": "base64", "secrets": ["k"]},
        {"scheme": "api-key", "header": "X-API-Key", "secrets": ["k"]},
    ):
        v = build_verifier(opts, "verify")
        v.verify({k.lower(): val for k, val in v.headers_for(BODY, 0).items()}, BODY, 0)


def test_api_key_any_of_several_keys() -> None:
    """An API key header matching any configured key is accepted; others and a missing header are not."""
    v = build_verifier({"scheme": "api-key", "header": "X-API-Key", "secrets": ["k1", "k2"]}, "verify")
    v.verify({"x-api-key": "k2"}, BODY, 0)
    with pytest.raises(AuthenticationFailed, match="does not match"):
        v.verify({"x-api-key": "k3"}, BODY, 0)
    with pytest.raises(AuthenticationFailed, match="missing"):
        v.verify({}, BODY, 0)


def test_api_key_header_is_sensitive() -> None:
    """The API-key header is marked sensitive so that it is never stored or logged."""
    v = build_verifier({"scheme": "api-key", "header": "X-API-Key", "secrets": ["k1"]}, "verify")
    assert v.sensitive_headers == frozenset({"x-api-key"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scheme": "nope", "secrets": ["s"]}, "unknown scheme 'nope'"),
        ({"scheme": "hmac-sha256", "secrets": ["s"]}, "verify.header: missing"),
        ({"scheme": "hmac-sha256", "header": "X", "secrets": []}, "verify.secrets: empty"),
        ({"scheme": "hmac-sha256", "header": "X", "secrets": ["s"], "encodng": "hex"}, "unknown option(s) encodng"),
        ({"scheme": "hmac", "algorithm": "md5", "header": "X", "secrets": ["s"]}, "unknown 'md5'"),
    ],
)
def test_bad_verify_options_are_configuration_errors(options: dict[str, object], message: str) -> None:
    """Each bad verify table names the key and the problem."""
    with pytest.raises(ConfigurationError) as info:
        build_verifier(options, "verify")
    assert message in str(info.value)
