"""A raw ASGI test client: an event loop in a thread, lifespan, and full control of body chunks.

Used instead of a framework TestClient so that the tests see exactly what an
ASGI server would send: bodies split in several ``http.request`` messages,
client disconnects, and the lifespan protocol.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tests.toolkit import Response

App = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]


class AsgiClient:
    def __init__(self, app: App, *, lifespan: bool = True) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._lifespan_queue: asyncio.Queue[dict[str, Any]] | None = None
        self._lifespan_sent: asyncio.Queue[dict[str, Any]] | None = None
        self._lifespan_task: Any = None
        if lifespan:
            self.run(self._startup())

    def run(self, coro: Awaitable[Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    async def _startup(self) -> None:
        self._lifespan_queue = asyncio.Queue()
        self._lifespan_sent = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan_task = asyncio.ensure_future(self.app(scope, self._lifespan_queue.get, self._lifespan_sent.put))
        await self._lifespan_queue.put({"type": "lifespan.startup"})
        msg = await asyncio.wait_for(self._lifespan_sent.get(), 10)
        assert msg["type"] == "lifespan.startup.complete", msg

    async def _shutdown(self) -> None:
        assert self._lifespan_queue is not None and self._lifespan_sent is not None
        await self._lifespan_queue.put({"type": "lifespan.shutdown"})
        msg = await asyncio.wait_for(self._lifespan_sent.get(), 30)
        assert msg["type"] == "lifespan.shutdown.complete", msg
        await self._lifespan_task

    def close(self) -> None:
        if self._lifespan_task is not None:
            self.run(self._shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    async def arequest(
        self,
        method: str,
        path: str,
        body: bytes | Sequence[bytes] = b"",
        headers: dict[str, str] | None = None,
        *,
        disconnect_after: int | None = None,
        content_length: bool = True,
    ) -> Response:
        chunks = [body] if isinstance(body, bytes) else list(body)
        hdrs = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        if content_length and isinstance(body, bytes) and not any(k == b"content-length" for k, _ in hdrs):
            hdrs.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": hdrs,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        calls = 0
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal calls
            calls += 1
            if disconnect_after is not None and calls > disconnect_after:
                return {"type": "http.disconnect"}
            if calls <= len(chunks):
                return {"type": "http.request", "body": chunks[calls - 1], "more_body": calls < len(chunks)}
            await done.wait()
            return {"type": "http.disconnect"}

        status = 0
        out_headers: dict[str, str] = {}
        parts: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    out_headers[k.decode().lower()] = v.decode()
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self.app(scope, receive, send)
        done.set()
        return Response(status, out_headers, b"".join(parts), calls)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Sequence[bytes] = b"",
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> Response:
        return self.run(self.arequest(method, path, body, headers, **kw))  # type: ignore[no-any-return]
