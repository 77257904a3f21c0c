"""Who gets in: off unless configured, the token login (constant-time, signed cookie), host auth, CSRF."""

from __future__ import annotations

from typing import Any

import pytest

from hookinbox import dashboard
from hookinbox.errors import ConfigurationError
from tests.conftest import require_module
from tests.dashboard.dashboard_helpers import TOKEN, csrf_of, seeded_inbox


@pytest.fixture
def client() -> Any:
    require_module("werkzeug")
    from werkzeug.test import Client

    return Client(dashboard.wsgi_app(seeded_inbox(), token=TOKEN))


def login(client: Any, token: str = TOKEN) -> Any:
    page = client.get("/login")
    return client.post("/login?next=/events", data={"token": token, "csrf": csrf_of(page.text)})


def test_off_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a token or an auth check the dashboard refuses to exist; the token may come from the env."""
    monkeypatch.delenv("HOOKINBOX_DASHBOARD_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="token"):
        dashboard.Dashboard(seeded_inbox())
    with pytest.raises(ConfigurationError, match="16 characters"):
        dashboard.Dashboard(seeded_inbox(), token="short")
    monkeypatch.setenv("HOOKINBOX_DASHBOARD_TOKEN", TOKEN)
    assert dashboard.Dashboard(seeded_inbox()).sessions is not None


def test_no_session_gets_the_login_page(client: Any) -> None:
    """Without a session every page redirects to the login form, which asks for the token."""
    r = client.get("/events?status=dead")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fevents%3Fstatus%3Ddead"
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'name="token"' in page.text and "evt_dead" not in page.text


def test_wrong_token_is_401(client: Any) -> None:
    """A wrong token answers 401 and sets no session; the pages stay closed."""
    r = login(client, "wrong-token-wrong-token")
    assert r.status_code == 401 and "Wrong token" in r.text
    assert "hookinbox_session" not in r.headers.get("set-cookie", "")
    assert client.get("/").status_code == 303


def test_right_token_sets_a_signed_strict_cookie(client: Any) -> None:
    """The right token sets an HttpOnly SameSite=Strict session cookie that is not the token; pages open."""
    r = login(client)
    assert r.status_code == 303 and r.headers["location"] == "/events"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("hookinbox_session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert TOKEN not in cookie
    page = client.get("/events")
    assert page.status_code == 200 and "evt_dead" in page.text


def test_forged_or_expired_session_is_refused() -> None:
    """A session signed under another token, tampered with or expired opens nothing."""
    inbox = seeded_inbox()
    d = dashboard.Dashboard(inbox, token=TOKEN)
    other = dashboard.Dashboard(inbox, token="another-token-another-token")
    good = d.sessions.issue(now=1000.0)  # type: ignore[union-attr]
    assert d.sessions.valid(good, now=1001.0)  # type: ignore[union-attr]
    assert not d.sessions.valid(good, now=1000.0 + 13 * 3600)  # type: ignore[union-attr]
    assert not d.sessions.valid(other.sessions.issue(now=1000.0), now=1001.0)  # type: ignore[union-attr]
    expires, nonce, sig = good.split(".")
    assert not d.sessions.valid(f"{int(expires) + 9999}.{nonce}.{sig}", now=1001.0)  # type: ignore[union-attr]
    assert not d.sessions.valid("garbage", now=1001.0)  # type: ignore[union-attr]


def test_login_form_needs_its_csrf_token(client: Any) -> None:
    """A login POST without the CSRF field is refused (403), even with the right token."""
    client.get("/login")
    r = client.post("/login", data={"token": TOKEN})
    assert r.status_code == 403 and "hookinbox_session" not in r.headers.get("set-cookie", "")


def test_post_without_csrf_is_403(client: Any) -> None:
    """A logged-in POST without (or with a wrong) CSRF token is 403 and changes nothing."""
    login(client)
    inbox = client.application.dashboard.inbox
    for data in ({"endpoint": "shop", "id": "evt_dead"}, {"endpoint": "shop", "id": "evt_dead", "csrf": "x" * 43}):
        r = client.post("/event/replay", data=data)
        assert r.status_code == 403
        assert inbox.store.get("shop", "evt_dead").status.value == "dead"
    page = client.get("/event?endpoint=shop&id=evt_dead")
    r = client.post("/event/replay", data={"endpoint": "shop", "id": "evt_dead", "csrf": csrf_of(page.text)})
    assert r.status_code == 303 and inbox.store.get("shop", "evt_dead").status.value == "pending"


def test_no_open_redirect_after_login(client: Any) -> None:
    """``next`` can only name a page of the dashboard."""
    page = client.get("/login")
    r = client.post("/login?next=//evil.example/x", data={"token": TOKEN, "csrf": csrf_of(page.text)})
    assert r.headers["location"] == "/"


def test_logout_ends_the_session(client: Any) -> None:
    """Logging out clears the cookie; the pages are closed again."""
    login(client)
    page = client.get("/")
    r = client.post("/logout", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"]
    assert client.get("/").status_code == 303


def test_host_auth_decides_when_mounted() -> None:
    """With ``auth=`` the host's check decides: False is 403, True opens the page; there is no login form."""
    require_module("werkzeug")
    from werkzeug.test import Client

    allowed: list[bool] = [False]
    app = dashboard.wsgi_app(seeded_inbox(), auth=lambda request: allowed[0] and "x-admin" in request.headers)
    c = Client(app)
    assert c.get("/").status_code == 403
    allowed[0] = True
    assert c.get("/").status_code == 403
    assert c.get("/", headers={"X-Admin": "1"}).status_code == 200
    assert c.get("/login", headers={"X-Admin": "1"}).status_code == 404


def test_static_files_are_public_and_pages_carry_security_headers(client: Any) -> None:
    """CSS and JS load before login; every page forbids inline script, framing and caching."""
    css = client.get("/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/../_core.py").status_code == 404
    login(client)
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
