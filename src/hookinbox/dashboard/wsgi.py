"""The dashboard as a WSGI app::

app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/hookinbox": dashboard.wsgi_app(inbox, auth=...)})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from hookinbox.dashboard._core import Dashboard
from hookinbox.dashboard._http import MAX_FORM, Request, Response, parse_query

__all__ = ["DashboardWSGI"]


class DashboardWSGI:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_FORM:
            response = Response(413, b"request body too large")
        else:
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            response = self.dashboard.handle(self.request(environ, body))
        start_response(f"{response.status} {HTTPStatus(response.status).phrase}", response.with_headers())
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else response.body]

    @staticmethod
    def request(environ: dict[str, Any], body: bytes) -> Request:
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        return Request(
            method=environ.get("REQUEST_METHOD", "GET"),
            path=environ.get("PATH_INFO", "") or "/",
            root=environ.get("SCRIPT_NAME", "").rstrip("/"),
            query=parse_query(environ.get("QUERY_STRING", "")),
            headers=headers,
            body=body,
            secure=environ.get("wsgi.url_scheme") == "http" + "s",
            native=environ,
        )
