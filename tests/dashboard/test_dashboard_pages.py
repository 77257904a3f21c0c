"""What the pages show and what the actions do, through the WSGI and ASGI shells (the memory store;
the store queries themselves are proved on every store in tests/stores/test_dashboard_queries.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hookinbox import dashboard
from hookinbox.events import Attempt, ProcessInfo
from hookinbox.stores.memory import MemoryStore
from tests.conftest import require_module
from tests.dashboard.dashboard_helpers import T0, csrf_of, record, seeded_inbox


def open_client(inbox: Any, **options: Any) -> Any:
    require_module("werkzeug")
    from werkzeug.test import Client

    options.setdefault("auth", lambda request: True)
    return Client(dashboard.wsgi_app(inbox, clock=lambda: T0 + 120, **options))


@pytest.fixture
def inbox() -> Any:
    return seeded_inbox()


def test_overview_counts_and_chart(inbox: Any) -> None:
    """Per endpoint: received, handled, failed, dead, pending and the oldest pending age; the chart's data."""
    page = open_client(inbox, hours=1).get("/")
    assert page.status_code == 200
    shop = re.search(r'<tr data-endpoint="shop">(.*?)</tr>', page.text, re.S).group(1)  # type: ignore[union-attr]
    counts = dict(re.findall(r'data-count="(\w+)">(?:<a [^>]*>)?(\d+)', shop))
    assert counts == {"received": "3", "handled": "1", "failed": "0", "dead": "1", "pending": "1"}
    assert "1 min 58 s" in shop  # evt_new, received at T0 + 2, seen at T0 + 120
    assert '<tr data-endpoint="generic">' in page.text  # a configured endpoint with no events yet
    data = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page.text).group(1)  # type: ignore[union-attr]
    import json

    chart = json.loads(data)
    assert len(chart["received"]) == 60 and sum(chart["received"]) == 4 and sum(chart["handled"]) == 1
    assert sum(chart["failed"]) == 1 and "/static/chart.js" in page.text


def test_event_list_filters_and_keyset_pages(inbox: Any) -> None:
    """Newest first, filtered by endpoint, status, type, id prefix and time; "Older" pages by cursor."""
    for i in range(7):
        inbox.store.record(record(f"bulk_{i}", t=T0 + 10 + i))
    c = open_client(inbox, page_size=3)
    ids = lambda html: re.findall(r'/event\?endpoint=\w+&amp;id=(\w+)"', html)  # noqa: E731
    first = c.get("/events?endpoint=shop&id=bulk_")
    assert ids(first.text) == ["bulk_6", "bulk_5", "bulk_4"]
    older = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert "endpoint=shop" in older and "id=bulk_" in older
    second = c.get(older)
    assert ids(second.text) == ["bulk_3", "bulk_2", "bulk_1"] and "Newest" in second.text
    assert ids(c.get("/events?status=dead").text) == ["evt_dead"]
    assert ids(c.get("/events?type=order.created").text) == ["ord_1"]
    since = "2025-12-06T05:46"  # T0 = 2025-12-06 05:46:40 UTC: the minute holds every event
    assert len(ids(c.get(f"/events?since={since}&until=2025-12-06T05:48").text)) == 3
    assert ids(c.get("/events?until=2025-12-06T05:46").text) == []
    assert ids(c.get("/events?endpoint=orders&before=not-a-cursor").text) == ["ord_1"]  # a bad cursor is ignored


def test_event_page_masks_secrets_and_hides_bodies(inbox: Any) -> None:
    """Signature headers are masked; the body is hidden unless show_bodies is on, then pretty-printed."""
    page = open_client(inbox).get("/event?endpoint=shop&id=evt_dead")
    assert page.status_code == 200
    assert "deadbeefcafe" not in page.text and "x-signature" in page.text and "Cimplify/1" in page.text
    assert "4242" not in page.text and "show_bodies</code> is off" in page.text
    assert "KeyError: &#39;sku&#39;" in page.text and ">Replay<" in page.text and ">Discard<" in page.text
    shown = open_client(inbox, show_bodies=True).get("/event?endpoint=shop&id=evt_dead")
    assert '&#34;card&#34;: &#34;4242&#34;' in shown.text and '\n  &#34;order&#34;: {' in shown.text
    assert "deadbeefcafe" not in shown.text
    assert open_client(inbox).get("/event?endpoint=shop&id=nope").status_code == 404


def test_event_page_shows_attempt_history() -> None:
    """When the store keeps attempts, each is listed with its outcome, error, duration and process."""

    class HistoryStore(MemoryStore):  # the history as a store keeping it returns it
        def get(self, endpoint: str, event_id: str) -> Any:
            rec = super().get(endpoint, event_id)
            if rec is not None:
                rec.history = [
                    Attempt(1, T0 + 5, T0 + 5.25, "retry", "TimeoutError: upstream", "web-1"),
                    Attempt(2, T0 + 65, T0 + 65.5, "dead", "KeyError: 'sku'", "web-2"),
                ]
            return rec

    inbox = seeded_inbox(store_object=HistoryStore())
    page = open_client(inbox).get("/event?endpoint=shop&id=evt_dead")
    rows = re.findall(r"<tr><td class=\"n\">(\d)</td>.*?</tr>", page.text, re.S)
    assert rows == ["1", "2"]
    assert "TimeoutError: upstream" in page.text and "0.250 s" in page.text and "0.500 s" in page.text
    assert page.text.count('<span class="status retry">') == 1 and "web-1" in page.text and "web-2" in page.text


def test_replay_one_and_discard_dead(inbox: Any) -> None:
    """Replay makes a dead event pending; discard deletes a dead one and refuses anything else."""
    c = open_client(inbox)
    token = csrf_of(c.get("/event?endpoint=shop&id=evt_dead").text)
    r = c.post("/event/replay", data={"endpoint": "shop", "id": "evt_dead", "csrf": token})
    assert r.status_code == 303 and "msg=replayed" in r.headers["location"]
    assert inbox.store.get("shop", "evt_dead").status.value == "pending"
    assert "Replayed 1 event" in c.get(r.headers["location"]).text
    r = c.post("/event/discard", data={"endpoint": "shop", "id": "evt_done", "csrf": token})
    assert "msg=not-discarded" in r.headers["location"] and inbox.store.get("shop", "evt_done") is not None
    inbox.store.claim("shop", "evt_dead", T0 + 50, 30)
    inbox.store.fail("shop", "evt_dead", T0 + 51, "again", None)
    r = c.post("/event/discard", data={"endpoint": "shop", "id": "evt_dead", "csrf": token})
    assert r.headers["location"] == "/events?msg=discarded" and inbox.store.get("shop", "evt_dead") is None


def test_replay_a_filtered_set_after_confirmation(inbox: Any) -> None:
    """The confirmation page counts the replayable events the filters select; confirming replays them."""
    for i in range(4):
        inbox.store.record(record(f"d{i}", t=T0 + 20 + i))
        inbox.store.claim("shop", f"d{i}", T0 + 30, 30)
        inbox.store.fail("shop", f"d{i}", T0 + 31, "boom", None)
    c = open_client(inbox)
    page = c.get("/replay?endpoint=shop&status=dead")
    assert re.search(r'id="replay-count">(\d+)<', page.text).group(1) == "5"  # type: ignore[union-attr]
    everything = c.get("/replay?endpoint=shop")  # no status: dead, failed and done ones (not pending)
    assert re.search(r'id="replay-count">(\d+)<', everything.text).group(1) == "6"  # type: ignore[union-attr]
    r = c.post("/replay", data={"endpoint": "shop", "status": "dead", "csrf": csrf_of(page.text)})
    assert r.status_code == 303 and "n=5" in r.headers["location"]
    assert inbox.store.count(endpoint="shop", status="dead") == 0
    assert inbox.store.get("shop", "evt_done").status.value == "done"


class Untracked:
    """A store without a process registry (delegates everything else)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "processes":
            raise AttributeError(name)
        return getattr(self.inner, name)


def test_processes_page() -> None:
    """Live processes when the store tracks them; a plain sentence when it does not."""

    class Tracking(MemoryStore):
        def processes(self) -> list[ProcessInfo]:
            return [ProcessInfo("web-7f3a", "host-a", 4242, "web", T0, T0 + 110)]

    page = open_client(seeded_inbox(store_object=Tracking())).get("/processes")
    assert "web-7f3a" in page.text and "host-a" in page.text and "10 s ago" in page.text
    other = seeded_inbox(store_object=Untracked(MemoryStore()))
    assert "This store does not track processes." in open_client(other).get("/processes").text


def test_wsgi_mounted_under_a_prefix(inbox: Any) -> None:
    """Behind DispatcherMiddleware every link and form carries the mount prefix; cookies are scoped to it."""
    require_module("flask")
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client

    from tests.dashboard.dashboard_helpers import TOKEN

    app = Flask(__name__)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/ops/hooks": dashboard.wsgi_app(inbox, token=TOKEN)})  # type: ignore[method-assign]
    c = Client(app)
    r = c.get("/ops/hooks/events")
    assert r.status_code == 303 and r.headers["location"].startswith("/ops/hooks/login?next=%2Fevents")
    assert "Path=/ops/hooks/" in r.headers["set-cookie"]  # the CSRF cookie, scoped to the dashboard
    login = c.get(r.headers["location"])
    assert 'action="/ops/hooks/login?next=%2Fevents"' in login.text
    r = c.post("/ops/hooks/login?next=/events", data={"token": TOKEN, "csrf": csrf_of(login.text)})
    assert r.headers["location"] == "/ops/hooks/events"
    page = c.get("/ops/hooks/events")
    assert 'href="/ops/hooks/event?endpoint=shop&amp;id=evt_dead"' in page.text


def asgi_call(app: Any, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, str], str]:
    """One request through an ASGI app, as a server would send it: (status, headers, text)."""
    import asyncio

    path, _, query = target.partition("?")
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body:
        raw += [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": query.encode(), "headers": raw, "scheme": "http", "asgi": {"version": "3.0"},
             "http_version": "1.1", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}  # fmt: skip
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            out["body"] += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return out["status"], out["headers"], out["body"].decode()


def test_asgi_mounted_in_starlette(inbox: Any) -> None:
    """app.mount("/hookinbox", asgi_app(...)): pages, links and actions under the prefix, host auth decides."""
    require_module("starlette")
    from urllib.parse import urlencode

    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = Starlette(
        routes=[Mount("/hookinbox", dashboard.asgi_app(inbox, auth=lambda r: r.headers.get("x-user") == "ops"))]
    )
    assert asgi_call(app, "GET", "/hookinbox/", {})[0] == 403
    ops = {"x-user": "ops"}
    status, headers, text = asgi_call(app, "GET", "/hookinbox/events?status=dead", ops)
    assert status == 200 and 'href="/hookinbox/event?endpoint=shop&amp;id=evt_dead"' in text
    csrf_cookie = headers["set-cookie"].split(";")[0]
    _, _, event = asgi_call(app, "GET", "/hookinbox/event?endpoint=shop&id=evt_dead", {**ops, "cookie": csrf_cookie})
    form = urlencode({"endpoint": "shop", "id": "evt_dead", "csrf": csrf_of(event)}).encode()
    status, headers, _ = asgi_call(app, "POST", "/hookinbox/event/replay", {**ops, "cookie": csrf_cookie}, form)
    assert status == 303 and headers["location"].startswith("/hookinbox/event?")
    assert inbox.store.get("shop", "evt_dead").status.value == "pending"
    no_csrf = urlencode({"endpoint": "shop", "id": "evt_done"}).encode()
    assert asgi_call(app, "POST", "/hookinbox/event/discard", {**ops, "cookie": csrf_cookie}, no_csrf)[0] == 403


def test_a_store_that_fails_answers_503_without_its_message(caplog: pytest.LogCaptureFixture) -> None:
    """A store error is a 503 page naming the error class; its message (maybe a password) is not shown."""
    from hookinbox.errors import StoreUnavailable

    class Down(MemoryStore):
        def stats(self) -> Any:
            raise StoreUnavailable("postgresql://app:hunter2@db/app is unreachable")

    page = open_client(seeded_inbox(store_object=Down())).get("/")
    assert page.status_code == 503 and "StoreUnavailable" in page.text
    assert "hunter2" not in page.text and "hunter2" not in caplog.text
