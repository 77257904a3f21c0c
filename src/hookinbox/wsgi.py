"""WSGI middleware: receive webhooks in front of any WSGI app (Flask, Django, ...).

::

    app.wsgi_app = hookinbox.wsgi.WebhookMiddleware(app.wsgi_app, inbox)

Requests to a configured endpoint path are answered here; everything else
reaches the wrapped app untouched (its ``wsgi.input`` not read). The body is
read through Werkzeug's :func:`~werkzeug.wsgi.get_input_stream`, which never
reads past ``Content-Length`` and enforces ``max_body`` on chunked bodies when
the server terminates the stream (``wsgi.input_terminated``). Handlers run in
a thread pool that is drained at process exit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from hookinbox.core import Reply, lower_headers_from_environ, precheck, reply_for, too_large
from hookinbox.errors import MalformedPayload, Rejected, StoreUnavailable
from hookinbox.inbox import Inbox
from hookinbox.settings import EndpointSettings

__all__ = ["WebhookMiddleware"]

log = logging.getLogger("hookinbox.wsgi")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_ERROR = reply_for(StoreUnavailable("internal error; please retry"))


class LengthRequired(Rejected):
    """A chunked body the WSGI server does not terminate cannot be read safely."""

    status = 411
    code = "length_required"


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
        try:
            reply = precheck(endpoint, environ.get("REQUEST_METHOD", "GET"), environ.get("CONTENT_LENGTH") or None)
            if reply is not None:
                return reply
            body = read_body(endpoint, environ)
            if isinstance(body, Reply):
                return body
            headers = lower_headers_from_environ(environ)
            return self.inbox.receive(endpoint, headers, body)
        except Exception:
            log.exception("unexpected error answering a delivery to %s; answered 503", endpoint.name)
            return _ERROR


def read_body(endpoint: EndpointSettings, environ: dict[str, Any]) -> bytes | Reply:
    """Read at most ``max_body`` bytes of the request body, or the reply refusing it."""
    limit = endpoint.max_body
    has_length = bool(environ.get("CONTENT_LENGTH"))
    if not has_length and "wsgi.input_terminated" not in environ:
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return reply_for(
                LengthRequired("chunked body without a server that terminates wsgi.input; send Content-Length")
            )
        return reply_for(MalformedPayload("empty body; expected a JSON object"))
    try:
        stream = get_input_stream(environ, safe_fallback=True, max_content_length=limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = stream.read(min(65536, limit + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                return too_large(endpoint)
            chunks.append(chunk)
    except RequestEntityTooLarge:
        return too_large(endpoint)
    except (OSError, ValueError):  # client went away mid-body
        return reply_for(MalformedPayload("incomplete body"))
    return b"".join(chunks)
