"""Post signed deliveries to an ASGI or WSGI app, then wait for the handlers.

ASGI apps are driven through ``httpx.ASGITransport`` on an event loop the
client owns (handlers scheduled on it run while :meth:`WebhookClient.wait`
polls); WSGI apps through ``werkzeug.test.Client``, their handlers in the
inbox's thread pool. Both libraries are imported only when used.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hookinbox.events import EventRecord, Status

if TYPE_CHECKING:
    from hookinbox.inbox import Inbox
    from hookinbox.testing import Delivery, Payload

__all__ = ["Response", "WebhookClient"]

_WAITING = (Status.PENDING, Status.PROCESSING)


@dataclass(frozen=True)
class Response:
    """What the app answered: ``status_code``, ``headers`` (lower-cased names), ``content``."""

    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.content)


def _is_asgi(app: Any) -> bool:
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)


class WebhookClient:
    """Sends signed deliveries to ``app`` (ASGI or WSGI), for ``inbox``'s endpoints.

    >>> client = WebhookClient(app, inbox)
    >>> delivery = client.delivery("stripe", PRESETS["stripe"].sample())
    >>> client.send(delivery).status_code
    200
    >>> client.wait(delivery).status                    # once the handlers ran
    <Status.DONE: 'done'>

    ``kind`` forces ``"asgi"`` or ``"wsgi"`` when detection by ``__call__`` is not enough.
    """

    def __init__(self, app: Any, inbox: Inbox, *, kind: str | None = None) -> None:
        self.app = app
        self.inbox = inbox
        self.kind = kind or ("asgi" if _is_asgi(app) else "wsgi")
        if self.kind not in ("asgi", "wsgi"):
            raise ValueError("kind must be 'asgi' or 'wsgi'")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: Any = None

    # -- building and sending ---------------------------------------------------------------

    def delivery(self, endpoint: str, payload: Payload, **options: Any) -> Delivery:
        """A signed delivery (same options as :func:`hookinbox.testing.signed_delivery`)."""
        from hookinbox.testing import signed_delivery

        return signed_delivery(endpoint, payload, inbox=self.inbox, **options)

    def post(self, endpoint: str, payload: Payload, **options: Any) -> Response:
        """Sign ``payload`` for ``endpoint`` and POST it; returns the app's answer."""
        return self.send(self.delivery(endpoint, payload, **options))

    def send(self, delivery: Delivery) -> Response:
        """POST a prepared (possibly tampered, possibly repeated) delivery."""
        if self.kind == "asgi":
            response: Response = self._run(self.asend(delivery))
            return response
        try:
            from werkzeug.test import Client
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("posting to a WSGI app needs werkzeug: pip install 'hookinbox[testing]'") from None

        resp = Client(self.app).post(delivery.path, data=delivery.body, headers=list(delivery.headers.items()))
        try:
            return Response(resp.status_code, resp.get_data(), _lower(resp.headers))
        finally:
            resp.close()

    async def asend(self, delivery: Delivery) -> Response:
        """POST to an ASGI app from async code (on the caller's running loop)."""
        if self._http is None:
            try:
                import httpx
            except ImportError:  # pragma: no cover - httpx is a test dependency
                raise ImportError("posting to an ASGI app needs httpx: pip install 'hookinbox[testing]'") from None
            self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://testserver")
        resp = await self._http.post(delivery.path, content=delivery.body, headers=delivery.headers)
        return Response(resp.status_code, resp.content, _lower(resp.headers))

    # -- waiting ----------------------------------------------------------------------------

    def event_id(self, delivery: Delivery) -> str:
        """The event id hookinbox derives from ``delivery`` (header, body field or body hash)."""
        from hookinbox.envelope import parse_object

        mapping = self.inbox.endpoints[delivery.endpoint].mapping
        payload = parse_object(delivery.body)
        headers = _lower(delivery.headers)
        return mapping.event_id(payload, headers, delivery.body, mapping.event_type(payload, headers))

    def wait(self, delivery: Delivery | str, event_id: str | None = None, *, timeout: float = 5.0) -> EventRecord:
        """The stored record once a handler attempt on the event finished (done, failed or dead).

        Pass the :class:`Delivery` that was sent, or an endpoint name and an
        event id. Raises :class:`TimeoutError` if the event is still pending
        after ``timeout`` seconds, :class:`LookupError` if it was never recorded.
        """
        if self.kind == "asgi":
            result: EventRecord = self._run(self.await_(delivery, event_id, timeout=timeout))
            return result
        endpoint, key = self._key(delivery, event_id)
        deadline = time.monotonic() + timeout
        while True:
            record = self._settled(endpoint, key)
            if record is not None:
                return record
            if time.monotonic() > deadline:
                raise TimeoutError(f"event {key} ({endpoint}) was not handled within {timeout:g} s")
            time.sleep(0.005)

    async def await_(
        self,
        delivery: Delivery | str,
        event_id: str | None = None,
        *,
        timeout: float = 5.0,
    ) -> EventRecord:
        """:meth:`wait` for async code: yields to the loop, where the handlers run."""
        endpoint, key = self._key(delivery, event_id)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    record = self._settled(endpoint, key)
                    if record is not None:
                        return record
                    await asyncio.sleep(0.005)
        except TimeoutError:
            raise TimeoutError(f"event {key} ({endpoint}) was not handled within {timeout:g} s") from None

    def _key(self, delivery: Delivery | str, event_id: str | None) -> tuple[str, str]:
        if isinstance(delivery, str):
            if event_id is None:
                raise TypeError("wait(endpoint, event_id): the event id is missing")
            return delivery, event_id
        return delivery.endpoint, event_id if event_id is not None else self.event_id(delivery)

    def _settled(self, endpoint: str, event_id: str) -> EventRecord | None:
        record = self.inbox.store.get(endpoint, event_id)
        if record is None:
            raise LookupError(f"event {event_id} ({endpoint}) was never recorded")
        return None if record.status in _WAITING else record

    def process(self) -> dict[str, int]:
        """Run every due event's handlers now, in this thread (see :meth:`Inbox.process_due`)."""
        return self.inbox.process_due()

    # -- lifecycle --------------------------------------------------------------------------

    def _run(self, coro: Any) -> Any:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        """Drain the inbox's executor (handlers still running get ``drain_timeout``) and close."""
        if self._loop is not None:
            loop, self._loop = self._loop, None
            try:
                loop.run_until_complete(self.aclose())
            finally:
                loop.close()
        elif self.kind == "wsgi":
            self.inbox.shutdown()

    async def aclose(self) -> None:
        """:meth:`close` for async code."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()
        await self.inbox.ashutdown()

    def __enter__(self) -> WebhookClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
