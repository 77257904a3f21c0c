"""Every seed provider, end to end, through the ASGI and the WSGI middleware."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.seeds import PROVIDERS, Provider
from tests.shells.conftest import Harness

SAMPLES = [(p, i) for p in PROVIDERS for i in range(len(p.preset.samples))]


@pytest.mark.parametrize(("provider", "index"), SAMPLES, ids=[f"{p.endpoint}-{i}" for p, i in SAMPLES])
def test_documented_payload_reaches_its_handler(harness: Harness, provider: Provider, index: int) -> None:
    """Each example payload of each provider's doc, with its documented auth, gets 200 and its handler."""
    payload = provider.preset.samples[index]
    body = json.dumps(payload).encode()
    r = harness.post(provider.path, body, provider.headers(body))
    assert r.status_code == 200
    assert r.json() == {"received": True}
    (event,) = harness.recorder.wait_for(1)
    assert event.endpoint == provider.endpoint
    assert event.id == provider.expected_id(payload, body)
    assert event.type == provider.preset.event_type_of(payload)
    assert event.data == provider.expected_data(payload)
    assert event.payload == payload
    assert event.attempt == 1


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.endpoint)
def test_redeliveries_on_the_retry_schedule_run_the_handler_once(harness: Harness, provider: Provider) -> None:
    """The same delivery repeated at every delay of the provider's retry schedule is handled once."""
    payload, body = provider.bodies()[0]
    assert harness.post(provider.path, body, provider.headers(body)).status_code == 200
    harness.wait_settled(1)
    for delay in provider.preset.retry_schedule:
        harness.clock.now += delay
        r = harness.post(provider.path, body, provider.headers(body))
        assert r.status_code == 200
        assert r.json() == {"received": True, "duplicate": True}
    assert harness.recorder.ids() == [provider.expected_id(payload, body)]


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.endpoint)
def test_wrong_or_missing_auth_is_401_and_nothing_is_parsed(harness: Harness, provider: Provider) -> None:
    """A wrong secret, a missing header, or a forged body gets 401; an unparseable body is not even parsed."""
    _, body = provider.bodies()[0]
    assert harness.post(provider.path, body, provider.headers(body, secret="wrong")).status_code == 401
    assert harness.post(provider.path, body, {"Content-Type": "application/json"}).status_code == 401
    garbage = b"{not json at all"
    r = harness.post(provider.path, garbage, provider.headers(body, secret="wrong"))
    assert r.status_code == 401  # 401, not 400: the signature is checked before parsing
    assert r.json()["error"] == "unauthorized"
    assert harness.inbox.store.stats() == {}
    assert harness.recorder.ids() == []


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.endpoint)
def test_authentic_but_malformed_bodies_are_400(harness: Harness, provider: Provider) -> None:
    """Correctly signed bodies that are not JSON objects, or lack the type, are 400 and not recorded."""
    for body in (b"not json", b"[1, 2, 3]", b'{"nothing": "here"}'):
        r = harness.post(provider.path, body, provider.headers(body))
        assert r.status_code == 400, body
        assert r.json()["error"] == "malformed"
    assert harness.inbox.store.stats() == {}


def test_non_post_is_405_with_allow(harness: Harness) -> None:
    """GET (or any method but POST) on a webhook path is 405 with Allow: POST."""
    r = harness.get(PROVIDERS[0].path)
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


def test_declared_oversize_body_is_413(harness: Harness) -> None:
    """A body over max_body (1 MB by default) is refused with 413 before it is verified."""
    p = PROVIDERS[4]
    body = b"x" * 1_000_001
    r = harness.post(p.path, body, p.headers(body))
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"


def test_host_routes_still_work_including_body_readers(harness: Harness) -> None:
    """Other paths reach the host app untouched: a GET route and a POST route that reads its body."""
    r = harness.get("/hello")
    assert r.status_code == 200 and r.content == b"hello from the host"
    r = harness.post("/echo", b"the host's own body", {"Content-Type": "application/octet-stream"})
    assert r.status_code == 200 and r.content == b"the host's own body"


def test_trailing_slash_reaches_the_endpoint(harness: Harness) -> None:
    """'/webhooks/cimplify/' is the same endpoint as '/webhooks/cimplify'."""
    p = PROVIDERS[4]
    _, body = p.bodies()[0]
    assert harness.post(p.path + "/", body, p.headers(body)).status_code == 200


def test_api_key_is_not_stored_with_the_event(harness: Harness) -> None:
    """The x-api-key header (the credential itself) is never kept in the store."""
    p = PROVIDERS[2]
    payload, body = p.bodies()[0]
    assert harness.post(p.path, body, p.headers(body)).status_code == 200
    harness.wait_settled(1)
    record = harness.inbox.store.get(p.endpoint, payload["event_id"])
    assert record is not None
    assert "x-api-key" not in record.headers
    assert p.secret not in json.dumps(record.to_dict())


def test_logs_hold_no_secret_and_no_body(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Accepting, refusing and handling events logs ids, never secrets or payload contents."""
    caplog.set_level("DEBUG", logger="hookinbox")
    for p in PROVIDERS:
        _, body = p.bodies()[0]
        harness.post(p.path, body, p.headers(body))
        harness.post(p.path, body, p.headers(body, secret="wrong-" + p.secret))
    harness.wait_settled(len(PROVIDERS))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "accepted event" in text
    for p in PROVIDERS:
        assert p.secret not in text
    for needle in ("pat_1234567890", "Signature required", "john@example.com", "Testosterone"):
        assert needle not in text


def test_bodies_are_logged_only_when_log_bodies_is_set(
    shell: str, harness_factory: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    """log_bodies = true (an explicit opt-in for debugging) logs the body at DEBUG; the default never does."""
    caplog.set_level("DEBUG", logger="hookinbox")
    h = harness_factory(shell, log_bodies=True)
    p = PROVIDERS[3]
    _, body = p.bodies()[0]
    assert h.post(p.path, body, p.headers(body)).status_code == 200
    assert any("john@example.com" in r.getMessage() for r in caplog.records)


def test_logged_bodies_are_cut_at_the_documented_size(
    shell: str, harness_factory: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    """With log_bodies, a body longer than LOG_BODY_LIMIT (2 KiB) is logged cut, with its full size."""
    from hookinbox.core import LOG_BODY_LIMIT

    caplog.set_level("DEBUG", logger="hookinbox")
    h = harness_factory(shell, log_bodies=True)
    p = PROVIDERS[0]
    payload, _ = p.bodies()[0]
    body = json.dumps({**payload, "padding": "x" * 10_000, "tail": "END-MARKER"}).encode()
    assert h.post(p.path, body, p.headers(body)).status_code == 200
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("body of event")]
    assert "END-MARKER" not in line and f"({len(body)} bytes, cut at {LOG_BODY_LIMIT})" in line
    assert len(line) < LOG_BODY_LIMIT + 200


def test_ids_and_types_are_escaped_in_every_log_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """An id or type with a newline (or other control characters) cannot forge a log line: it is escaped."""
    caplog.set_level("DEBUG", logger="hookinbox")
    p = PROVIDERS[0]
    payload, _ = p.bodies()[0]
    body = json.dumps({**payload, "id": "evt_1\nFORGED accepted event x", "type": "order.created\r\x1b[2J"}).encode()
    assert harness.post(p.path, body, p.headers(body)).status_code == 200
    harness.recorder.wait_for(1)
    harness.wait_settled(1)
    lines = [r.getMessage() for r in caplog.records]
    assert any("evt_1\\nFORGED" in line for line in lines)
    assert any("order.created\\r\\x1b[2J" in line for line in lines)
    assert not any("\n" in line or "\r" in line or "\x1b" in line for line in lines)
