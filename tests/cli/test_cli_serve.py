"""`hookinbox serve` and `hookinbox send`, as a user runs them: one receiver per module, real HTTP."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.cli_helpers import Server, get, run_cli, write_settings
from tests.seeds import PROVIDERS
from tests.toolkit import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("serve")
    write_settings(directory)
    s = Server(directory)
    yield s
    s.stop()


def test_healthz_reports_ok_and_the_endpoints(server: Server) -> None:
    """GET /healthz answers 200 with the status, store kind and endpoint names."""
    status, body = get(server.url + "/healthz")
    info = json.loads(body)
    assert status == 200
    assert info["status"] == "ok" and info["store"] == "memory"
    assert info["endpoints"] == sorted(p.endpoint for p in PROVIDERS)


def test_other_paths_are_404(server: Server) -> None:
    """Anything but the endpoints and /healthz is 404."""
    assert get(server.url + "/nope")[0] == 404


@pytest.mark.parametrize("provider", PROVIDERS, ids=[p.preset.name for p in PROVIDERS])
def test_send_each_providers_samples_and_they_are_handled(server: Server, provider: object) -> None:
    """`send ENDPOINT TYPE` signs each doc sample as the provider does; 200, and the handler runs once."""
    from tests.seeds import Provider

    assert isinstance(provider, Provider)
    for payload, body in provider.bodies():
        event_type = provider.preset.event_type_of(payload)
        done = run_cli("send", provider.endpoint, event_type, "--url", server.url, cwd=server.cwd)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == '200 {"received": true}'
        assert f"POST {server.url}{provider.path} {event_type} " in done.stdout
        event_id = done.stdout.splitlines()[0].split()[-1]
        wait_for(
            lambda eid=event_id: [provider.endpoint, eid, event_type, "1"] in server.handled(),  # type: ignore[misc]
            what=f"{event_id} handled",
        )


def test_second_send_is_a_duplicate(server: Server) -> None:
    """Sending the same event twice is acked as a duplicate and handled once."""
    first = run_cli("send", "generic", "--url", server.url, cwd=server.cwd)
    again = run_cli("send", "generic", "--url", server.url, cwd=server.cwd)
    assert first.returncode == 0 and again.returncode == 0
    assert again.stdout.splitlines()[-1] == '200 {"received": true, "duplicate": true}'
    wait_for(lambda: ["generic", "evt_abc123", "user.created", "1"] in server.handled(), what="handled")
    assert server.handled().count(["generic", "evt_abc123", "user.created", "1"]) == 1


def test_send_with_the_wrong_secret_is_refused(server: Server, tmp_path: Path) -> None:
    """A sender holding another secret gets 401 and `send` exits 1."""
    conf = tmp_path / "other.toml"
    conf.write_text('[endpoints.shop]\npath = "/webhooks/cimplify"\npreset = "cimplify"\nsecret = "wrong"\n')
    done = run_cli("send", "shop", "--config", str(conf), "--url", server.url, cwd=server.cwd)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].startswith('401 {"error": "unauthorized"')


def test_send_data_from_a_file_is_sent_as_is(server: Server, tmp_path: Path) -> None:
    """--data @file sends those exact bytes, signed."""
    data = tmp_path / "event.json"
    data.write_bytes(b'{"id": "evt_file_1", "type": "order.updated", "created_at": "x", "data": {}}')
    done = run_cli("send", "shop", "--data", f"@{data}", "--url", server.url, cwd=server.cwd)
    assert done.returncode == 0, done.stderr
    wait_for(lambda: ["shop", "evt_file_1", "order.updated", "1"] in server.handled(), what="handled")


def test_send_malformed_data_reports_the_400(server: Server) -> None:
    """A body that is not a JSON object is refused with 400 and a non-zero exit."""
    done = run_cli("send", "shop", "--data", "[1, 2]", "--url", server.url, cwd=server.cwd)
    assert done.returncode == 1
    assert "(body without a valid event envelope)" in done.stdout
    assert done.stdout.splitlines()[-1].startswith('400 {"error": "malformed"')


def test_send_unknown_example_type_lists_the_known_ones(server: Server) -> None:
    """An event type the preset has no example for is an error naming the ones it has."""
    done = run_cli("send", "pharmacy", "order.created", "--url", server.url, cwd=server.cwd)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "hookinbox: error: nimbus has no example 'order.created' event; "
        "one of shipment:created, shipment:cancelled, medication:updated"
    )


def test_send_to_nothing_says_so(tmp_path: Path) -> None:
    """No receiver at the URL: the connection error and exit 1."""
    write_settings(tmp_path)
    done = run_cli("send", "shop", "--url", "http://127.0.0.1:9", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("hookinbox: error: POST http://127.0.0.1:9/webhooks/cimplify: ")


def test_sigterm_drains_and_exits_cleanly(tmp_path: Path, start_server: object) -> None:
    """SIGTERM runs the lifespan shutdown (executor drained, store closed) and exits 0."""
    write_settings(tmp_path)
    s = start_server(tmp_path)  # type: ignore[operator]
    assert run_cli("send", "novamed", "--url", s.url, cwd=tmp_path).returncode == 0
    wait_for(lambda: s.handled(), what="handled")
    rc, err = s.stop()
    assert rc in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down, so the parent sees it
    assert "hookinbox stopped; store closed" in err
    assert "Application shutdown complete" in err


@pytest.mark.parametrize("how", ["--log-json", "log_format"])
def test_json_logs_one_object_per_line_with_the_delivery_fields(tmp_path: Path, start_server: object, how: str) -> None:
    """--log-json (or log_format = "json"): every stderr line is a JSON object; a refusal names endpoint and scheme."""
    if how == "--log-json":
        write_settings(tmp_path)
        s = start_server(tmp_path, "--log-json")  # type: ignore[operator]
    else:
        write_settings(tmp_path, log_format="json")
        s = start_server(tmp_path)  # type: ignore[operator]
    conf = tmp_path / "other.toml"
    conf.write_text('[endpoints.shop]\npath = "/webhooks/cimplify"\npreset = "cimplify"\nsecret = "wrong"\n')
    assert run_cli("send", "shop", "--config", str(conf), "--url", s.url, cwd=tmp_path).returncode == 1
    _, err = s.stop()
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    (refused,) = [line for line in lines if line["message"].startswith("rejected delivery to shop")]
    assert refused["endpoint"] == "shop" and refused["scheme"] == "hmac-sha256" and refused["level"] == "INFO"
    assert "wrong" not in json.dumps(lines)
