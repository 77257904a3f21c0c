"""Every signature scheme, standard library only: published vectors, tampering, replay window, rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from hookinbox.errors import AuthenticationFailed, ConfigurationError
from hookinbox.verifiers import Verifier, build_verifier
from hookinbox.verifiers import _signing as signing

NOW = 1_700_000_000.0
BODY = b'{"id":"evt_1","type":"thing.happened","data":{"n":1}}'

# scheme name -> (options with two secrets for rotation, a wrong secret, signs a timestamp?)
SW_OLD = "whsec_" + base64.b64encode(b"old-key-0123456789abcdef").decode()
SW_NEW = "whsec_" + base64.b64encode(b"new-key-0123456789abcdef").decode()
SW_WRONG = "whsec_" + base64.b64encode(b"not-the-key-0123456789ab").decode()
SCHEMES: dict[str, tuple[list[str], str, bool]] = {
    "standard-webhooks": ([SW_NEW, SW_OLD], SW_WRONG, True),
    "svix": ([SW_NEW, SW_OLD], SW_WRONG, True),
    "stripe": (["whsec_new", "whsec_old"], "whsec_wrong", True),
    "github": (["new secret", "old secret"], "wrong secret", False),
    "shopify": (["new-client-secret", "old-client-secret"], "wrong", False),
    "slack": (["8f742231b10e8888abcd99yyyzzz85a5", "old-signing-secret"], "wrong", True),
    "hmac-sha256": (["new", "old"], "wrong", False),
    "api-key": (["new-key", "old-key"], "wrong-key", False),
}
TIMESTAMPED = [name for name, (_, _, stamped) in SCHEMES.items() if stamped]


def make(scheme: str, secrets: list[str], **options: Any) -> Verifier:
    extra = {"header": "X-Signature"} if scheme in ("hmac-sha256", "api-key") else {}
    return build_verifier({"scheme": scheme, "secrets": secrets, **extra, **options}, "endpoints.t.verify")


def reason(verifier: Verifier, headers: dict[str, str], body: bytes = BODY, now: float = NOW) -> str:
    with pytest.raises(AuthenticationFailed) as info:
        verifier.verify(headers, body, now)
    assert info.value.status == 401
    return info.value.detail


# -- published test vectors -------------------------------------------------------------------


def test_standard_webhooks_spec_vector() -> None:
    """The Standard Webhooks / Svix example (whsec_MfKQ..., msg_p5jX..., 1614265330) verifies."""
    v = make("standard-webhooks", ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    v.verify(headers, b'{"test": 2432232314}', 1614265330.0)
    assert v.headers_for_id(b'{"test": 2432232314}', 1614265330.0, "msg_p5jXN8AQM9LWM0D4loKWxJek") == headers  # type: ignore[attr-defined]


def test_svix_header_names_verify_the_spec_vector() -> None:
    """The same vector sent with svix-id/svix-timestamp/svix-signature verifies under both scheme names."""
    headers = {
        "svix-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "svix-timestamp": "1614265330",
        "svix-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    for scheme in ("svix", "standard-webhooks"):
        make(scheme, ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]).verify(headers, b'{"test": 2432232314}', 1614265330.0)


def test_github_docs_vector() -> None:
    """GitHub's documented example: 'Hello, World!' under "It's a Secret to Everybody"."""
    v = make("github", ["It's a Secret to Everybody"])
    sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    v.verify({"x-hub-signature-256": sig}, b"Hello, World!", NOW)
    assert v.headers_for(b"Hello, World!", NOW) == {"x-hub-signature-256": sig}


SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)


def test_slack_docs_vector() -> None:
    """Slack's documented example (secret 8f742231..., timestamp 1531420618) verifies and re-signs identically."""
    v = make("slack", ["8f742231b10e8888abcd99yyyzzz85a5"])
    headers = {
        "x-slack-request-timestamp": "1531420618",
        "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    v.verify(headers, SLACK_BODY, 1531420618.0 + 60)
    assert v.headers_for(SLACK_BODY, 1531420618.0) == headers


def test_stripe_signature_computed_per_docs() -> None:
    """Stripe-Signature v1 = hex HMAC-SHA256 of '{t}.{body}' keyed with the whole whsec_ string."""
    expected = hmac.new(b"whsec_test", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    v = make("stripe", ["whsec_test"])
    v.verify({"stripe-signature": f"t=1700000000,v1={expected},v0=deadbeef"}, BODY, NOW)
    assert v.headers_for(BODY, NOW) == {"stripe-signature": f"t=1700000000,v1={expected}"}


def test_shopify_signature_computed_per_docs() -> None:
    """X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256 of the raw body keyed with the client secret."""
    expected = base64.b64encode(hmac.new(b"hush", BODY, hashlib.sha256).digest()).decode()
    v = make("shopify", ["hush"])
    v.verify({"x-shopify-hmac-sha256": expected}, BODY, NOW)
    assert v.headers_for(BODY, NOW) == {"x-shopify-hmac-sha256": expected}


# -- the same behaviour from every scheme -----------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_signed_by_itself_verifies(scheme: str) -> None:
    """A delivery signed with headers_for verifies at the same time."""
    v = make(scheme, SCHEMES[scheme][0])
    v.verify(v.headers_for(BODY, NOW), BODY, NOW)


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s != "api-key"])
def test_tampered_body_is_rejected(scheme: str) -> None:
    """One changed byte of the body fails the signature with 401."""
    v = make(scheme, SCHEMES[scheme][0])
    assert "match" in reason(v, v.headers_for(BODY, NOW), BODY.replace(b"1", b"2"))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_wrong_secret_is_rejected(scheme: str) -> None:
    """A delivery signed with a secret the endpoint does not have is refused."""
    secrets, wrong, _ = SCHEMES[scheme]
    signer = make(scheme, [wrong])
    reason(make(scheme, secrets), signer.headers_for(BODY, NOW))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_missing_headers_are_rejected(scheme: str) -> None:
    """No credential headers at all is a 401 naming the missing header."""
    assert "missing" in reason(make(scheme, SCHEMES[scheme][0]), {})


@pytest.mark.parametrize("scheme", SCHEMES)
def test_rotation_accepts_every_active_secret(scheme: str) -> None:
    """With secrets = [new, old], deliveries signed with either are accepted."""
    new, old = SCHEMES[scheme][0]
    v = make(scheme, [new, old])
    for secret in (new, old):
        v.verify(make(scheme, [secret]).headers_for(BODY, NOW), BODY, NOW)


@pytest.mark.parametrize("scheme", TIMESTAMPED)
def test_stale_delivery_is_rejected(scheme: str) -> None:
    """A correctly signed delivery older than the 5-minute default window is a replay: 401."""
    v = make(scheme, SCHEMES[scheme][0])
    old = v.headers_for(BODY, NOW - 301)
    assert "old" in reason(v, old) and "tolerance" in reason(v, old)
    v.verify(v.headers_for(BODY, NOW - 299), BODY, NOW)


@pytest.mark.parametrize("scheme", TIMESTAMPED)
def test_future_dated_delivery_is_rejected(scheme: str) -> None:
    """A delivery dated more than the window ahead of our clock is refused as well."""
    v = make(scheme, SCHEMES[scheme][0])
    assert "future" in reason(v, v.headers_for(BODY, NOW + 301))
    v.verify(v.headers_for(BODY, NOW + 299), BODY, NOW)


@pytest.mark.parametrize("scheme", TIMESTAMPED)
def test_tolerance_is_configurable(scheme: str) -> None:
    """tolerance = "10m" accepts a 9-minute-old delivery and "30s" refuses a 31-second-old one."""
    secrets = SCHEMES[scheme][0]
    wide, narrow = make(scheme, secrets, tolerance="10m"), make(scheme, secrets, tolerance="30s")
    wide.verify(wide.headers_for(BODY, NOW - 540), BODY, NOW)
    reason(narrow, narrow.headers_for(BODY, NOW - 31))


@pytest.mark.parametrize("scheme", TIMESTAMPED)
def test_malformed_timestamp_is_rejected(scheme: str) -> None:
    """A timestamp that is not Unix seconds is a 401, not a crash."""
    v = make(scheme, SCHEMES[scheme][0])
    headers = v.headers_for(BODY, NOW)
    stamp = str(int(NOW))
    bad = {k: (val.replace(stamp, "soon") if stamp in val else val) for k, val in headers.items()}
    assert "Unix time" in reason(v, bad)


def test_bad_tolerance_is_a_configuration_error() -> None:
    """tolerance must be a positive duration; the error names the key."""
    with pytest.raises(ConfigurationError, match=r"endpoints\.t\.verify\.tolerance"):
        make("stripe", ["s"], tolerance="soon")
    with pytest.raises(ConfigurationError, match="more than 0"):
        make("slack", ["s"], tolerance=0)


def test_unknown_option_is_refused() -> None:
    """A typo such as `tolerence` is an error rather than a silently disabled check."""
    with pytest.raises(ConfigurationError, match="tolerence"):
        make("standard-webhooks", [SW_NEW], tolerence="5m")


def test_standard_webhooks_secret_must_be_base64() -> None:
    """A whsec_ secret that is not base64 is a configuration error, never a different key."""
    with pytest.raises(ConfigurationError, match="base64"):
        make("standard-webhooks", ["whsec_not*base64!"])


# -- several signatures in one header ---------------------------------------------------------


def test_standard_webhooks_accepts_any_of_several_signatures() -> None:
    """webhook-signature with a foreign v1, a v1a and the right v1 is accepted; only foreign ones are not."""
    v = make("standard-webhooks", [SW_NEW])
    headers = v.headers_for(BODY, NOW)
    right = headers["webhook-signature"]
    foreign = make("standard-webhooks", [SW_WRONG]).headers_for(BODY, NOW)["webhook-signature"]
    v.verify({**headers, "webhook-signature": f"{foreign} v1a,AAAA {right}"}, BODY, NOW)
    assert "matches" in reason(v, {**headers, "webhook-signature": f"{foreign} v1a,AAAA"})
    assert "no v1" in reason(v, {**headers, "webhook-signature": "v2,abc v1a,AAAA"})


def test_stripe_accepts_any_of_several_v1() -> None:
    """Stripe-Signature with two v1 values (a secret roll) is accepted when either matches."""
    v = make("stripe", ["whsec_b"])
    t, right = v.headers_for(BODY, NOW)["stripe-signature"].split(",")
    other = make("stripe", ["whsec_a"]).headers_for(BODY, NOW)["stripe-signature"].split(",")[1]
    v.verify({"stripe-signature": f"{t},{other},{right}"}, BODY, NOW)
    assert "matches" in reason(v, {"stripe-signature": f"{t},{other}"})
    assert "t=" in reason(v, {"stripe-signature": right})


# -- the shared helpers -----------------------------------------------------------------------


def test_any_match_compares_every_pair_without_early_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """With 3 secrets and 2 signatures, 6 comparisons run even though the first pair matches."""
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", counting)
    good = hmac.new(b"k1", b"m", hashlib.sha256).digest()
    assert signing.any_match([b"k1", b"k2", b"k3"], b"m", [good, b"x" * 32], hashlib.sha256)
    assert len(calls) == 6
    assert not signing.any_match([b"k2"], b"m", [good], hashlib.sha256)


def test_check_timestamp_boundaries() -> None:
    """Exactly at the tolerance passes; one second beyond either side fails."""
    signing.check_timestamp(NOW - 300, NOW, 300, "t")
    signing.check_timestamp(NOW + 300, NOW, 300, "t")
    with pytest.raises(AuthenticationFailed, match="301 s old"):
        signing.check_timestamp(NOW - 301, NOW, 300, "t")
    with pytest.raises(AuthenticationFailed, match="301 s in the future"):
        signing.check_timestamp(NOW + 301, NOW, 300, "t")


def test_parse_pairs_and_decoders_never_raise() -> None:
    """Header parsing returns pairs and None for garbage instead of raising."""
    assert signing.parse_pairs("t=1, v1=ab,junk,v1=cd=") == [("t", "1"), ("v1", "ab"), ("v1", "cd=")]
    assert signing.parse_pairs("v1,abc v1a,def", " ", ",") == [("v1", "abc"), ("v1a", "def")]
    assert signing.decode_hex("zz") is None and signing.decode_base64("***") is None
