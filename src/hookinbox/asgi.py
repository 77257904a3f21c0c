"""Pure ASGI middleware: receive webhooks in front of any ASGI app.

::

    app = hookinbox.asgi.WebhookMiddleware(app, inbox)

Requests to a configured endpoint path are answered here; everything else
(other paths, websockets) passes through untouched, body included. The
asyncio executor is started on lifespan startup (or on the first delivery
when the server runs without lifespan) and drained on lifespan shutdown.

The body is read here, from the ASGI ``receive`` stream, counting bytes:
a declared ``Content-Length`` over ``max_body`` is refused before reading,
and a streamed body is cut off with 413 as soon as it passes the limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hookinbox.core import Reply, lower_headers_from_asgi, precheck, reply_for, too_large
from hookinbox.errors import BodyTimeout, StoreUnavailable
from hookinbox.inbox import Inbox
from hookinbox.settings import EndpointSettings

__all__ = ["WebhookMiddleware", "not_found_app"]

log = logging.getLogger("hookinbox.asgi")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_ERROR = reply_for(StoreUnavailable("internal error; please retry"))


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


class WebhookMiddleware:
    """Answer deliveries to ``inbox``'s endpoint paths; pass everything else to ``app``."""

    def __init__(self, app: ASGIApp | None, inbox: Inbox, *, lifespan: bool = True) -> None:
        self.app: ASGIApp = app if app is not None else not_found_app
        self.inbox = inbox
        self.lifespan = lifespan
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timeout = inbox.settings.body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            endpoint = self.inbox.endpoint_for_path(scope["path"])
            if endpoint is not None:
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
                await self._start()
            elif message["type"] == "lifespan.shutdown":
                await self.inbox.ashutdown()
                self._loop = None
            return message

        return wrapped

    async def _start(self) -> None:
        await self.inbox.astartup()
        self._loop = asyncio.get_running_loop()

    async def handle(self, endpoint: EndpointSettings, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one delivery to ``endpoint``. Never raises and never answers 500."""
        try:
            headers = lower_headers_from_asgi(scope["headers"])
            early = precheck(endpoint, scope["method"], headers.get("content-length"))
            body = early if early is not None else await self._read_body(endpoint, receive)
            if body is None:
                return  # the client went away: nothing was recorded, nothing to answer
            if isinstance(body, Reply):
                reply = body
            else:
                reply = await self.inbox.areceive(endpoint, headers, body)
        except Exception:
            log.exception("unexpected error answering a delivery to %s; answered 503", endpoint.name)
            reply = _ERROR
        assert reply is not None
        await send({"type": "http.response.start", "status": reply.status, "headers": reply.raw_headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def _read_body(self, endpoint: EndpointSettings, receive: Receive) -> bytes | Reply | None:
        limit = endpoint.max_body
        message = await receive()  # the common case: the whole body in one message
        if message["type"] != "http.request":
            return None
        body: bytes = message.get("body", b"")
        if len(body) > limit:
            return too_large(endpoint)
        if not message.get("more_body", False):
            return body
        chunks = [body]
        size = len(body)
        try:
            async with asyncio.timeout(self._timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        return too_large(endpoint)  # stop reading at the limit
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            return reply_for(BodyTimeout(f"body not received within {self._timeout:g} s"))
