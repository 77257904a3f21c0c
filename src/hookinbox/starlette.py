"""Starlette integration: webhook routes for users who prefer routes to middleware.

Two ways to mount an :class:`~hookinbox.inbox.Inbox` on a Starlette app::

    # 1. the pure ASGI middleware: every configured endpoint path, in front of the app
    app = Starlette(routes=[...], middleware=[Middleware(WebhookMiddleware, inbox=inbox)])

    # 2. routes, next to the app's own; the executor follows the app's lifespan
    app = Starlette(routes=[*webhook_routes(inbox), ...], lifespan=lifespan(inbox, my_lifespan))

Each route's endpoint is the raw ASGI app :class:`hookinbox.asgi.EndpointApp`
(the one the middleware routes to), so the body is read from the ASGI stream
with the same size and time limits as the middleware, and verification,
status mapping and recording stay in :mod:`hookinbox.core`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

try:
    from starlette.routing import Route
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("hookinbox.starlette needs Starlette: pip install 'hookinbox[starlette]'") from exc

from hookinbox.asgi import EndpointApp
from hookinbox.inbox import Inbox

__all__ = ["EndpointApp", "lifespan", "webhook_routes"]

Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


def webhook_routes(inbox: Inbox) -> list[Route]:
    """One route per configured endpoint, at the endpoint's ``path`` (relative to any Mount).

    Routes accept every method, so that a GET is answered 405 by the core,
    with the same JSON body as every other refusal.
    """
    return [
        Route(ep.path, EndpointApp(inbox, ep), name=f"hookinbox:{ep.name}", include_in_schema=False)
        for ep in inbox.endpoints.values()
    ]


def lifespan(inbox: Inbox, inner: Lifespan | None = None) -> Lifespan:
    """A lifespan that starts the inbox's executor, runs ``inner`` (the app's own lifespan), and drains it.

    The executor starts before ``inner`` enters and is drained after it exits;
    ``inner``'s state (a yielded dict) is passed through.
    """

    @asynccontextmanager
    async def _lifespan(app: Any) -> AsyncIterator[Any]:
        await inbox.astartup()
        try:
            if inner is None:
                yield None
            else:
                async with inner(app) as state:
                    yield state
        finally:
            await inbox.ashutdown()

    return _lifespan
