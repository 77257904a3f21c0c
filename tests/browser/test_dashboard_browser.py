"""The dashboard in a real browser (Playwright driving Debian's chromium): standalone under
``hookinbox serve --dashboard``, and mounted in a Flask app. The Django-mounted run is in
tests/integrations/dj/test_django_dashboard_browser.py. Screenshots of each page go to docs/img/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.browser_helpers import ROOT, dashboard_flow, launch
from tests.conftest import require_module
from tests.seeds import PROVIDERS

pytestmark = pytest.mark.slow

TOKEN = "browser-test-token-0123456789"

HANDLERS = '''
import os
from pathlib import Path


def handle(event):
    """Fails for the ids listed in $FAIL_IDS (one per line)."""
    failing = Path(os.environ["FAIL_IDS"]).read_text().split() if Path(os.environ["FAIL_IDS"]).exists() else []
    if event.id in failing:
        raise RuntimeError(f"told to fail {event.id}")
'''


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


class FailList:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("")

    def fail(self, event_id: str) -> None:
        self.path.write_text(self.path.read_text() + event_id + "\n")

    def heal(self, event_id: str) -> None:
        self.path.write_text("".join(f"{i}\n" for i in self.path.read_text().split() if i != event_id))


def settings_toml(store: str) -> str:
    lines = ["[hookinbox]", f'store = "{store}"', "max_attempts = 1", 'sweep_interval = "1s"']
    for p in PROVIDERS:
        lines += [f"[endpoints.{p.endpoint}]", f'path = "{p.path}"', f'preset = "{p.preset.name}"',
                  f'secret = "{p.secret}"', 'handlers = { "*" = "dash_handlers:handle" }']  # fmt: skip
    return "\n".join(lines) + "\n"


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[tuple[str, FailList]]:
    """``hookinbox serve --port 0 --dashboard`` on a SQLite store, its token in the environment."""
    (tmp_path / "dash_handlers.py").write_text(HANDLERS)
    (tmp_path / "hookinbox.toml").write_text(settings_toml(f"sqlite:///{tmp_path}/inbox.db"))
    fails = FailList(tmp_path / "fail_ids")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKINBOX_")}
    env.update(PYTHONPATH=str(ROOT / "src"), FAIL_IDS=str(fails.path), HOOKINBOX_DASHBOARD_TOKEN=TOKEN)
    out = tmp_path / "serve.out"
    with out.open("w") as stdout, (tmp_path / "serve.err").open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hookinbox", "serve", "--port", "0", "--dashboard"],
            cwd=tmp_path, env=env, stdout=stdout, stderr=stderr,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (m := re.search(r"listening on (http://\S+)", out.read_text())):
            assert proc.poll() is None, (tmp_path / "serve.err").read_text()
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        url = m.group(1)
        while not healthy(url):  # the port is bound before uvicorn listens on it
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.err").read_text()
            time.sleep(0.1)
        yield url, fails
    finally:
        proc.terminate()
        proc.wait(30)


def healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def test_standalone_dashboard(page: Any, standalone: tuple[str, FailList]) -> None:
    """Log in with the token (a wrong one is refused), then the operator's round; screenshots for the docs."""
    url, fails = standalone
    response = page.goto(url + "/dashboard/events")
    assert response.status == 200 and "/dashboard/login" in page.url
    from tests.browser.browser_helpers import shoot

    shoot(page, True, "login")
    page.fill("#token", "not-the-token-at-all")
    with page.expect_navigation() as nav:
        page.click("button:has-text('Log in')")
    assert nav.value.status == 401 and "Wrong token" in page.inner_text("main")
    page.fill("#token", TOKEN)
    page.click("button:has-text('Log in')")
    assert page.url == url + "/dashboard/events"
    cookie = next(c for c in page.context.cookies() if c["name"] == "hookinbox_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
    dashboard_flow(page, dashboard_url=url + "/dashboard", receiver_url=url, fail=fails.fail, heal=fails.heal,
                   tag="solo", shots=True)  # fmt: skip


@pytest.fixture
def flask_server() -> Iterator[tuple[str, set[str]]]:
    """A Flask app with the HookInbox extension and the dashboard under /hookinbox (DispatcherMiddleware),
    admitted by the app's own session (a toy login at /admin-login)."""
    require_module("flask")
    from flask import Flask, redirect, request, session
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.serving import make_server

    from hookinbox import dashboard
    from hookinbox.flask import HookInbox
    from tests.seeds import settings_dict

    failing: set[str] = set()
    app = Flask(__name__)
    app.secret_key = "flask-test-secret"
    app.config["HOOKINBOX"] = settings_dict(max_attempts=1, sweep_interval="1s")
    hooks = HookInbox(app)

    @hooks.on("*")
    def handle(event: Any) -> None:
        if event.id in failing:
            raise RuntimeError(f"told to fail {event.id}")

    @app.route("/admin-login", methods=["GET", "POST"])
    def admin_login() -> Any:
        if request.method == "POST" and request.form.get("password") == "pw":
            session["admin"] = True
            return redirect("/hookinbox/")
        return '<form method="post"><input name="password" type="password"><button>Enter</button></form>'

    def is_admin(req: dashboard.Request) -> bool:
        with app.request_context(req.native):
            return session.get("admin") is True

    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {"/hookinbox": dashboard.wsgi_app(hooks.inbox, auth=is_admin)}
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", failing
    finally:
        server.shutdown()
        hooks.inbox.close()


def test_flask_mounted_dashboard(page: Any, flask_server: tuple[str, set[str]]) -> None:
    """Mounted in Flask: closed (403) until the host app's own login, then the operator's round."""
    url, failing = flask_server
    assert page.goto(url + "/hookinbox/").status == 403
    page.goto(url + "/admin-login")
    page.fill('input[name="password"]', "pw")
    page.click("button")
    assert page.url == url + "/hookinbox/" and page.locator('tr[data-endpoint="generic"]').count() == 1
    dashboard_flow(page, dashboard_url=url + "/hookinbox", receiver_url=url, fail=failing.add,
                   heal=failing.discard, tag="flask")  # fmt: skip


def test_works_with_javascript_off(browser: Any, flask_server: tuple[str, set[str]]) -> None:
    """JavaScript off: every page, filter and action works; only the chart is not drawn (its totals are shown)."""
    from tests.browser.browser_helpers import count, deliver, listed_ids, until

    url, failing = flask_server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(url + "/admin-login")
        page.fill('input[name="password"]', "pw")
        page.click("button")
        failing.add("evt_nojs_dead")
        deliver(url, "evt_nojs_dead", "invoice.failed")
        until(page, lambda: count(page, "generic", "dead") == 1, "the dead event on the overview")
        assert page.locator("#chart").get_attribute("data-drawn") is None  # no script ran
        assert "failed 1" in page.inner_text("figcaption")  # the totals need none
        page.goto(url + "/hookinbox/events")
        page.select_option('select[name="status"]', "dead")
        page.click("button:has-text('Filter')")
        assert listed_ids(page) == ["evt_nojs_dead"]
        page.click("text=evt_nojs_dead")
        failing.discard("evt_nojs_dead")
        page.click("button:has-text('Replay')")
        assert "Replayed 1 event" in page.inner_text(".flash")
    finally:
        context.close()
