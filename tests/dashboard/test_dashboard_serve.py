"""``hookinbox serve --dashboard``: the dashboard at /dashboard in front of the receiver, token required."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hookinbox.cli.serve import build_app
from hookinbox.dashboard.serve import with_dashboard
from tests.dashboard.dashboard_helpers import TOKEN, seeded_inbox
from tests.dashboard.test_dashboard_pages import asgi_call

ROOT = Path(__file__).resolve().parents[2]


def test_dashboard_under_its_prefix_and_the_receiver_elsewhere() -> None:
    """/dashboard/... reaches the dashboard (login first); webhook paths and /healthz reach the receiver."""
    inbox = seeded_inbox()
    app = with_dashboard(build_app(inbox), inbox, token=TOKEN)
    status, headers, _ = asgi_call(app, "GET", "/dashboard/events", {})
    assert status == 303 and headers["location"] == "/dashboard/login?next=%2Fevents"
    status, _, text = asgi_call(app, "GET", "/dashboard/login", {})
    assert status == 200 and 'action="/dashboard/login?next=%2F"' in text
    assert asgi_call(app, "GET", "/healthz", {})[0] == 200
    assert asgi_call(app, "GET", "/dashboardx", {})[0] == 404
    assert asgi_call(app, "GET", "/webhooks/generic", {})[0] == 405  # the receiver's answer to a GET


@pytest.mark.slow
def test_serve_dashboard_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    """No $HOOKINBOX_DASHBOARD_TOKEN: `serve --dashboard` exits 1 saying what is missing, before serving."""
    (tmp_path / "hookinbox.toml").write_text('[endpoints.g]\npath = "/h"\npreset = "generic"\nsecret = "s"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKINBOX_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run(
        [sys.executable, "-m", "hookinbox", "serve", "--port", "0", "--dashboard", "--store", "memory://"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "HOOKINBOX_DASHBOARD_TOKEN" in done.stderr


def test_token_from_the_settings_when_they_have_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``dashboard_token`` in the settings is the token (ahead of the environment's)."""
    from types import SimpleNamespace
    from urllib.parse import urlencode

    from hookinbox.asgi import not_found_app
    from tests.dashboard.dashboard_helpers import csrf_of

    monkeypatch.setenv("HOOKINBOX_DASHBOARD_TOKEN", "the-environment-token-0000")
    inbox = SimpleNamespace(settings=SimpleNamespace(dashboard_token=TOKEN))
    app = with_dashboard(not_found_app, inbox)  # type: ignore[arg-type]
    _, headers, page = asgi_call(app, "GET", "/dashboard/login", {})
    cookie = {"cookie": headers["set-cookie"].split(";")[0]}
    for token, status in (("the-environment-token-0000", 401), (TOKEN, 303)):
        form = urlencode({"token": token, "csrf": csrf_of(page)}).encode()
        assert asgi_call(app, "POST", "/dashboard/login", cookie, form)[0] == status
