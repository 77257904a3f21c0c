"""The dashboard itself, framework-free: :meth:`Dashboard.handle` turns a :class:`Request` into a
:class:`Response`. The ASGI, WSGI and Django shells only translate."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import urlencode

try:
    import jinja2
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("the dashboard needs Jinja2: pip install 'hookinbox[dashboard]'") from exc

from hookinbox import __version__
from hookinbox.dashboard import _format as fmt
from hookinbox.dashboard._auth import CSRF_COOKIE, SESSION_COOKIE, Sessions, csrf_ok, new_csrf
from hookinbox.dashboard._http import SECURITY_HEADERS, Request, Response
from hookinbox.errors import ConfigurationError
from hookinbox.events import Status
from hookinbox.inbox import Inbox
from hookinbox.stores._query import cursor

__all__ = ["TOKEN_ENV", "Dashboard"]

log = logging.getLogger("hookinbox.dashboard")

#: where the standalone dashboard reads its token when none is passed
TOKEN_ENV = "HOOKINBOX_DASHBOARD_TOKEN"

Auth = Callable[[Request], bool]

_STATIC = {"dashboard.css": "text/css; charset=utf-8", "chart.js": "text/javascript; charset=utf-8"}
_REPLAYABLE = (Status.DEAD, Status.FAILED, Status.DONE, Status.STALE)
_STATUSES = [s.value for s in Status]
_MESSAGES = {
    "replayed": "Replayed {n} event(s); they are pending again.",
    "not-replayed": "Not replayed: the event is pending or in flight.",
    "discarded": "Discarded the dead event.",
    "not-discarded": "Not discarded: only a dead event can be discarded.",
    "logged-out": "Logged out.",
}


class Dashboard:
    """See, search and replay the events of an :class:`~hookinbox.inbox.Inbox`.

    Exactly one way in must be configured, or building it fails (the dashboard is off unless configured):

    * ``token``: a login form (standalone use); default ``$HOOKINBOX_DASHBOARD_TOKEN``;
    * ``auth``: ``auth(request) -> bool``, the host app's own check (mounted use). False answers 403.

    ``show_bodies`` (off by default: bodies may be medical or payment data) shows each event's body on its
    page. ``hours`` is the span of the overview's chart; ``page_size`` the events per page of the list;
    ``max_replay`` caps a replay of a filtered set.
    """

    def __init__(
        self,
        inbox: Inbox,
        *,
        token: str | None = None,
        auth: Auth | None = None,
        show_bodies: bool = False,
        hours: float = 3.0,
        page_size: int = 50,
        max_replay: int = 10_000,
        title: str = "hookinbox",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if token is None and auth is None:
            token = os.environ.get(TOKEN_ENV) or None
        if token is None and auth is None:
            raise ConfigurationError(
                f"the dashboard is off until it is given a token (token=..., or ${TOKEN_ENV}) "
                "or the host's auth check (auth=callable)",
                key="dashboard_token",
            )
        if token is not None and len(token) < 16:
            raise ConfigurationError("use a dashboard token of at least 16 characters", key="dashboard_token")
        self.inbox = inbox
        self.auth = auth
        self.sessions = Sessions(token) if token is not None and auth is None else None
        self.show_bodies = show_bodies
        self.hours = hours
        self.page_size = page_size
        self.max_replay = max_replay
        self.title = title
        self.clock = clock
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("hookinbox.dashboard", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters.update(when=fmt.when, age=fmt.age)
        self._static = {
            name: (resources.files("hookinbox.dashboard").joinpath("static", name).read_bytes(), kind)
            for name, kind in _STATIC.items()
        }

    @property
    def store(self) -> Any:
        return self.inbox.store

    # -- the door ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request. Static files are public; everything else passes the auth check first.

        A store that fails (down, timing out) answers 503 with a page saying so; its error is logged by
        class name only (driver messages may quote a URL with a password, or event data).
        """
        try:
            return self._handle(request)
        except Exception as exc:
            log.error("dashboard: %s %s failed (%s)", request.method, request.path, type(exc).__name__)
            text = f"The dashboard could not answer ({type(exc).__name__}): is the store up? Retry in a moment."
            return Response.html(503, self.env.get_template("message.html").render(
                title=self.title, root=request.root, url=lambda p, **q: request.root + p, csrf="",
                version=__version__, token_mode=False, path=request.path, message=None,
                heading="Unavailable", text=text))  # fmt: skip

    def _handle(self, request: Request) -> Response:
        path = request.path or "/"
        if path.startswith("/static/") and request.method in ("GET", "HEAD"):
            return self._static_file(path[len("/static/") :])
        csrf = request.cookies.get(CSRF_COOKIE) or ""
        fresh_csrf = not csrf
        if fresh_csrf:
            csrf = new_csrf()
        if path == "/login" and self.sessions is not None:
            response = self._login(request, csrf)
        elif not self._allowed(request):
            response = self._refuse(request, csrf)
        elif request.method == "POST":
            if not csrf_ok(request.cookies.get(CSRF_COOKIE), request.form().get("csrf")):
                stale = "The form's CSRF token is missing or stale; reload the page and retry."
                response = self._page(request, csrf, "message.html", 403, heading="Forbidden", text=stale)
            else:
                response = self._action(request, csrf)
        elif request.method in ("GET", "HEAD"):
            response = self._view(request, csrf)
        else:
            response = self._page(request, csrf, "message.html", 405, heading="Method not allowed", text="")
        if fresh_csrf:
            response.set_cookie(CSRF_COOKIE, csrf, path=self._cookie_path(request), secure=request.secure)
        return response

    def _allowed(self, request: Request) -> bool:
        if self.sessions is not None:
            return self.sessions.valid(request.cookies.get(SESSION_COOKIE), self.clock())
        assert self.auth is not None
        return bool(self.auth(request))

    def _refuse(self, request: Request, csrf: str) -> Response:
        if self.sessions is None:
            return self._page(request, csrf, "message.html", 403, heading="Forbidden",
                              text="You are not allowed to see the webhook dashboard.")  # fmt: skip
        if request.method in ("GET", "HEAD"):
            target = request.path + ("?" + urlencode(request.query) if request.query else "")
            return Response.redirect(f"{request.root}/login?{urlencode({'next': target})}")
        return self._page(request, csrf, "login.html", 401, error="Log in first.", next="/")

    def _cookie_path(self, request: Request) -> str:
        return (request.root or "") + "/"

    # -- login ------------------------------------------------------------------------------

    def _login(self, request: Request, csrf: str) -> Response:
        assert self.sessions is not None
        target = request.query.get("next") or "/"
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/"  # only paths inside the dashboard: never an open redirect
        if request.method != "POST":
            return self._page(request, csrf, "login.html", 200, error=None, next=target)
        form = request.form()
        if not csrf_ok(request.cookies.get(CSRF_COOKIE), form.get("csrf")):
            return self._page(request, csrf, "login.html", 403, error="Stale form; try again.", next=target)
        if not self.sessions.token_ok(form.get("token", "")):
            return self._page(request, csrf, "login.html", 401, error="Wrong token.", next=target)
        response = Response.redirect(request.root + target)
        response.set_cookie(
            SESSION_COOKIE,
            self.sessions.issue(self.clock()),
            path=self._cookie_path(request),
            secure=request.secure,
            max_age=self.sessions.max_age,
        )
        return response

    # -- pages ------------------------------------------------------------------------------

    def _page(self, request: Request, csrf: str, template: str, status: int, **context: Any) -> Response:
        root = request.root

        def url(path: str, **query: Any) -> str:
            q = {k: v for k, v in query.items() if v not in (None, "")}
            return root + path + ("?" + urlencode(q) if q else "")

        text = self.env.get_template(template).render(
            title=self.title,
            root=root,
            url=url,
            csrf=csrf,
            version=__version__,
            token_mode=self.sessions is not None,
            path=request.path,
            message=self._message(request),
            **context,
        )
        return Response.html(status, text)

    def _message(self, request: Request) -> str | None:
        text = _MESSAGES.get(request.query.get("msg", ""))
        if text is None:
            return None
        n = request.query.get("n", "0")
        return text.format(n=int(n) if n.isdigit() else 0)

    def _view(self, request: Request, csrf: str) -> Response:
        path = request.path.rstrip("/") or "/"
        if path == "/":
            return self._page(request, csrf, "overview.html", 200, **self._overview())
        if path == "/events":
            return self._page(request, csrf, "events.html", 200, **self._events(request.query))
        if path == "/event":
            record = self.store.get(request.query.get("endpoint", ""), request.query.get("id", ""))
            if record is None:
                return self._page(request, csrf, "message.html", 404, heading="No such event", text="")
            return self._page(request, csrf, "event.html", 200, **self._event(record))
        if path == "/replay":
            filters = fmt.filters_from(request.query)
            return self._page(request, csrf, "replay.html", 200, n=self._count_replayable(filters),
                              filters=fmt.filter_query(request.query), capped=self.max_replay)  # fmt: skip
        if path == "/processes":
            return self._page(request, csrf, "processes.html", 200, **self._processes())
        return self._page(request, csrf, "message.html", 404, heading="Not found", text="")

    def _overview(self) -> dict[str, Any]:
        now = self.clock()
        stats = self.store.stats()
        oldest_fn = getattr(self.store, "oldest_pending", None)
        oldest: dict[str, float] = oldest_fn() if oldest_fn is not None else {}
        rows = []
        for name in sorted(set(self.inbox.endpoints) | set(stats)):
            counts = stats.get(name, {})
            rows.append(
                {
                    "endpoint": name,
                    "received": sum(counts.values()),
                    "handled": counts.get("done", 0),
                    "failed": counts.get("failed", 0),
                    "dead": counts.get("dead", 0),
                    "pending": counts.get("pending", 0) + counts.get("processing", 0),
                    "oldest": None if name not in oldest else now - oldest[name],
                }
            )
        until = (math.floor(now / 60) + 1) * 60.0
        since = until - self.hours * 3600
        timeline_fn = getattr(self.store, "timeline", None)
        timeline = timeline_fn(since, until, bucket=60.0) if timeline_fn is not None else None
        totals = {k: sum(v) for k, v in timeline.items()} if timeline else None
        chart = {"since": since, "bucket": 60, **timeline} if timeline else None
        label = f"{self.hours:g} hour" + ("" if self.hours == 1 else "s")
        return {"rows": rows, "chart": chart, "totals": totals, "hours_label": label}

    def _events(self, query: dict[str, str]) -> dict[str, Any]:
        filters = fmt.filters_from(query)
        before = fmt.decode_cursor(query.get("before"))
        records = self.store.list(limit=self.page_size + 1, before=before, **filters)
        more = len(records) > self.page_size
        records = records[: self.page_size]
        kept = fmt.filter_query(query)
        next_cursor = fmt.encode_cursor(cursor(records[-1])) if more and records else None
        return {
            "records": records,
            "filters": kept,
            "next_cursor": next_cursor,
            "paged": before is not None,
            "endpoints": sorted(
                set(self.inbox.endpoints) | ({filters["endpoint"]} if "endpoint" in filters else set())
            ),
            "statuses": _STATUSES,
            "since_value": fmt.time_input(filters.get("since")) if "since" in filters else query.get("since", ""),
            "until_value": fmt.time_input(filters.get("until")) if "until" in filters else query.get("until", ""),
        }

    def _event(self, record: Any) -> dict[str, Any]:
        return {
            "record": record,
            "headers": fmt.mask_headers(record.headers),
            "body": fmt.pretty_body(record.body) if self.show_bodies else None,
            "show_bodies": self.show_bodies,
            "has_body": record.body is not None,
            "history": list(record.history),
            "replayable": record.status in _REPLAYABLE,
            "discardable": record.status is Status.DEAD and hasattr(self.store, "discard_dead"),
            "now": self.clock(),
        }

    def _processes(self) -> dict[str, Any]:
        fn = getattr(self.store, "processes", None)
        return {"tracked": fn is not None, "processes": list(fn()) if fn is not None else [], "now": self.clock()}

    def _count_replayable(self, filters: dict[str, Any]) -> int:
        if "status" in filters:
            return int(self.store.count(**filters)) if filters["status"] in _REPLAYABLE else 0
        return sum(int(self.store.count(status=s, **filters)) for s in _REPLAYABLE)

    # -- actions (POST, CSRF checked) -------------------------------------------------------

    def _action(self, request: Request, csrf: str) -> Response:
        form = request.form()
        path = request.path.rstrip("/")

        def to(page: str, **query: Any) -> Response:
            return Response.redirect(f"{request.root}{page}?{urlencode(query)}")

        if path == "/logout" and self.sessions is not None:
            response = to("/login", msg="logged-out")
            cookie = f"{SESSION_COOKIE}=; Path={self._cookie_path(request)}; Max-Age=0; HttpOnly; SameSite=Strict"
            response.headers.append(("set-cookie", cookie))
            return response
        endpoint, event_id = form.get("endpoint", ""), form.get("id", "")
        if path == "/event/replay":
            n = self.inbox.replay(event_id, endpoint)
            return to("/event", endpoint=endpoint, id=event_id, msg="replayed" if n else "not-replayed", n=n)
        if path == "/event/discard":
            discard = getattr(self.store, "discard_dead", None)
            if discard is not None and discard(endpoint, event_id):
                return to("/events", msg="discarded")
            return to("/event", endpoint=endpoint, id=event_id, msg="not-discarded")
        if path == "/replay":
            n = self._replay_filtered(fmt.filters_from(form))
            return to("/events", **fmt.filter_query(form), msg="replayed", n=n)
        return self._page(request, csrf, "message.html", 404, heading="Not found", text="")

    def _replay_filtered(self, filters: dict[str, Any]) -> int:
        """Replay every replayable event the filters select (at most ``max_replay``), walking keyset pages."""
        n = 0
        before = None
        while n < self.max_replay:
            page = self.store.list(limit=500, before=before, **filters)
            for rec in page:
                if rec.status in _REPLAYABLE and n < self.max_replay:
                    n += self.inbox.replay(rec.id, rec.endpoint)
            if len(page) < 500:
                break
            before = cursor(page[-1])
        return n

    def _static_file(self, name: str) -> Response:
        found = self._static.get(name)
        if found is None:
            return Response(404, b"not found", [("content-type", "text/plain"), *SECURITY_HEADERS])
        body, kind = found
        return Response(200, body, [("content-type", kind), ("cache-control", "max-age=3600"), *SECURITY_HEADERS])
