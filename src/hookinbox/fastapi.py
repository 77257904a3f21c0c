"""FastAPI integration: the ASGI middleware, or an ``APIRouter`` of webhook routes.

::

    app = FastAPI(lifespan=hookinbox.fastapi.lifespan(inbox, my_lifespan))
    app.include_router(hookinbox.fastapi.router(inbox))

    # or, in front of the whole app (the middleware drives the executor from the lifespan):
    app.add_middleware(hookinbox.asgi.WebhookMiddleware, inbox=inbox)

The routes are the Starlette ones (:func:`hookinbox.starlette.webhook_routes`):
raw ASGI endpoints, so FastAPI's dependency injection and body parsing never
touch the delivery, and they stay out of the OpenAPI schema.
"""

from __future__ import annotations

try:
    from fastapi import APIRouter
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("hookinbox.fastapi needs FastAPI: pip install 'hookinbox[fastapi]'") from exc

from hookinbox.inbox import Inbox
from hookinbox.starlette import lifespan, webhook_routes

__all__ = ["lifespan", "router"]


def router(inbox: Inbox) -> APIRouter:
    """An ``APIRouter`` serving every endpoint of ``inbox`` at its configured path."""
    api = APIRouter()
    api.routes.extend(webhook_routes(inbox))
    return api
