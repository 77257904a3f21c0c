"""The dashboard as an ASGI app: mount it anywhere (``app.mount("/hookinbox", ...)``) or serve it alone.

Store calls block (SQL, Redis), so each request runs the core in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio

from hookinbox.asgi import Receive, Scope, Send
from hookinbox.dashboard._core import Dashboard
from hookinbox.dashboard._http import MAX_FORM, Request, Response, parse_query

__all__ = ["DashboardASGI"]


class DashboardASGI:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # served alone: nothing to start
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = await self._body(receive)
        if body is None:
            response = Response(413, b"request body too large")
        else:
            response = await asyncio.to_thread(self.dashboard.handle, self.request(scope, body))
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.with_headers()]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else response.body})

    @staticmethod
    def request(scope: Scope, body: bytes) -> Request:
        root = scope.get("root_path", "") or ""
        path = scope.get("path", "/") or "/"
        if root and path.startswith(root):  # Starlette's Mount keeps the full path and sets root_path
            path = path[len(root) :] or "/"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        return Request(
            method=scope["method"],
            path=path,
            root=root.rstrip("/"),
            query=parse_query(scope.get("query_string", b"").decode("latin-1")),
            headers=headers,
            body=body,
            secure=scope.get("scheme") == "https",
            native=scope,
        )

    @staticmethod
    async def _body(receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_FORM:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
