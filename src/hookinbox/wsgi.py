"""WSGI middleware: receive webhooks in front of any WSGI app (Flask, Django, ...).

::

    app.wsgi_app = hookinbox.wsgi.WebhookMiddleware(app.wsgi_app, inbox)

Requests to a configured endpoint path are answered here; everything else
reaches the wrapped app untouched (its ``wsgi.input`` not read). The body is
read by :func:`hookinbox._shell.read_wsgi_body`: never past ``Content-Length``,
``max_body`` enforced (inclusive) on chunked bodies when the server terminates
the stream (``wsgi.input_terminated``), and within ``body_timeout`` on the
socket when the server exposes it (gunicorn): a slow sender gets 408 and frees
the worker. Handlers run in a thread pool that is drained at process exit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from hookinbox._shell import LengthRequired, check_request, guard, lower_headers_from_environ, read_wsgi_body
from hookinbox.core import Reply
from hookinbox.inbox import Inbox
from hookinbox.settings import EndpointSettings

__all__ = ["LengthRequired", "WebhookMiddleware", "read_body"]

log = logging.getLogger("hookinbox.wsgi")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _not_found(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    body = b'{"error": "not_found"}'
    start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class WebhookMiddleware:
    """Answer deliveries to ``inbox``'s endpoint paths; pass everything else to ``app``."""

    def __init__(self, app: WSGIApp | None, inbox: Inbox) -> None:
        self.app: WSGIApp = app if app is not None else _not_found
        self.inbox = inbox

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        endpoint = self.inbox.endpoint_for_path(environ.get("PATH_INFO", "") or "/")
        if endpoint is None:
            return self.app(environ, start_response)
        reply = self.handle(endpoint, environ)
        start_response(_status_line(reply.status), list(reply.headers))
        return [reply.body]

    def handle(self, endpoint: EndpointSettings, environ: dict[str, Any]) -> Reply:
        """Answer one delivery to ``endpoint``. Never raises and never answers 500."""
        return guard(endpoint.name, lambda: self.answer(endpoint, environ))

    def answer(self, endpoint: EndpointSettings, environ: dict[str, Any]) -> Reply:
        """The reply to one delivery; raises a Rejected subclass for a refusal before the core."""
        check_request(endpoint.max_body, environ.get("REQUEST_METHOD", "GET"), environ.get("CONTENT_LENGTH") or None)
        body = read_wsgi_body(endpoint.max_body, environ, self.inbox.settings.body_timeout)
        return self.inbox.receive(endpoint, lower_headers_from_environ(environ), body)


def read_body(endpoint: EndpointSettings, environ: dict[str, Any], timeout: float = 10.0) -> bytes:
    """Read at most ``max_body`` bytes of the request body; raises a Rejected subclass to refuse it."""
    return read_wsgi_body(endpoint.max_body, environ, timeout)
