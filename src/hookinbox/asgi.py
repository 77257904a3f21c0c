"""Pure ASGI: one app per endpoint, and the middleware that routes webhooks in front of any ASGI app.

::

    app = hookinbox.asgi.WebhookMiddleware(app, inbox)       # every endpoint path, in front of app
    hook = hookinbox.asgi.EndpointApp(inbox, inbox.endpoints["stripe"])   # one endpoint, mount it anywhere

:class:`EndpointApp` is the primitive: it answers one endpoint, whatever
path it is mounted at (Starlette/FastAPI routes, the pytest plugin use it).
:class:`WebhookMiddleware` is a router over them: requests to a configured
endpoint path go to that endpoint's app; everything else (other paths,
websockets) passes through untouched, body included. The asyncio executor is
started on lifespan startup (or on the first delivery when the server runs
without lifespan) and drained on lifespan shutdown.

The body is read from the ASGI ``receive`` stream, counting bytes: a declared
``Content-Length`` over ``max_body`` is refused before reading, a streamed
body is cut off with 413 as soon as it passes the limit, and the whole body,
its first message included, must arrive within ``body_timeout`` (else 408 and
the connection is freed).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hookinbox._shell import (
    DISCONNECTED,
    ReadDeadlines,
    answer_error,
    check_request,
    lower_headers_from_asgi,
    read_asgi_body,
)
from hookinbox.core import Reply
from hookinbox.inbox import Inbox
from hookinbox.settings import EndpointSettings

__all__ = ["EndpointApp", "WebhookMiddleware", "not_found_app"]

log = logging.getLogger("hookinbox.asgi")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def not_found_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A host app for a standalone receiver: 404 for every other path, and lifespan support."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        body = b'{"error": "not_found"}'
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class EndpointApp:
    """The ASGI app answering deliveries to one endpoint of ``inbox`` (whatever path it is mounted at).

    It never raises and never answers 500 (see :mod:`hookinbox._shell`). The
    inbox's asyncio executor is started on this loop with the first delivery
    if no lifespan started it.
    """

    def __init__(self, inbox: Inbox, endpoint: EndpointSettings) -> None:
        self.inbox = inbox
        self.endpoint = endpoint
        self.timeout = inbox.settings.body_timeout
        self._deadlines = ReadDeadlines(self.timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # a route gets http only; lifespan and websockets are the host app's business
        try:  # the shells' one guard (hookinbox._shell.aguard), inlined: this is the hot path
            reply = await self.answer(scope, receive)
        except Exception as exc:
            reply = answer_error(self.endpoint.name, exc)
        if reply is DISCONNECTED:
            return  # the client went away: nothing was recorded, nobody to answer
        await send({"type": "http.response.start", "status": reply.status, "headers": reply.raw_headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def answer(self, scope: Scope, receive: Receive) -> Reply:
        """The reply to one delivery; raises a Rejected subclass for a refusal before the core."""
        endpoint = self.endpoint
        headers = lower_headers_from_asgi(scope["headers"])
        check_request(endpoint.max_body, scope["method"], headers.get("content-length"))
        body = await read_asgi_body(endpoint.max_body, receive, self.timeout, self._deadlines)
        return await self.inbox.areceive(endpoint, headers, body)


class WebhookMiddleware:
    """Route deliveries to ``inbox``'s endpoint paths to their :class:`EndpointApp`; pass everything else to ``app``."""

    def __init__(self, app: ASGIApp | None, inbox: Inbox, *, lifespan: bool = True) -> None:
        self.app: ASGIApp = app if app is not None else not_found_app
        self.inbox = inbox
        self.lifespan = lifespan
        self.endpoint_apps = {name: EndpointApp(inbox, ep) for name, ep in inbox.endpoints.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            endpoint = self.inbox.endpoint_for_path(scope["path"])
            if endpoint is not None:
                app = self.endpoint_apps.get(endpoint.name)
                if app is not None and app.endpoint is endpoint:
                    await app(scope, receive, send)
                else:
                    await self.handle(endpoint, scope, receive, send)
                return
        elif kind == "lifespan" and self.lifespan:
            await self.app(scope, self._lifespan_receive(receive), send)
            return
        await self.app(scope, receive, send)

    def _lifespan_receive(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.inbox.astartup()
            elif message["type"] == "lifespan.shutdown":
                await self.inbox.ashutdown()
            return message

        return wrapped

    async def handle(self, endpoint: EndpointSettings, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one delivery to ``endpoint``. Never raises and never answers 500."""
        app = self.endpoint_apps.get(endpoint.name)
        if app is None or app.endpoint is not endpoint:
            app = EndpointApp(self.inbox, endpoint)
        await app(scope, receive, send)
