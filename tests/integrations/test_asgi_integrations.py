"""Starlette and FastAPI: routes, middleware, lifespans (httpx.ASGITransport, lifespan driven by hand)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from integration_helpers import check_refusals, lifespan_of, seed_deliveries
from tests.conftest import require_module
from tests.seeds import settings_dict

require_module("starlette")
require_module("fastapi")
import httpx  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Mount, Route  # noqa: E402

import hookinbox.fastapi  # noqa: E402
import hookinbox.starlette  # noqa: E402
from hookinbox import Inbox  # noqa: E402
from hookinbox.asgi import WebhookMiddleware  # noqa: E402


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"echo": (await request.body()).decode()})


def starlette_routes(inbox: Inbox) -> Starlette:
    routes = [*hookinbox.starlette.webhook_routes(inbox), Route("/echo", echo, methods=["POST"])]
    return Starlette(routes=routes, lifespan=hookinbox.starlette.lifespan(inbox))


def fastapi_router(inbox: Inbox) -> FastAPI:
    app = FastAPI(lifespan=hookinbox.fastapi.lifespan(inbox))
    app.include_router(hookinbox.fastapi.router(inbox))
    app.post("/echo")(echo)
    return app


def fastapi_middleware(inbox: Inbox) -> FastAPI:
    app = FastAPI()
    app.add_middleware(WebhookMiddleware, inbox=inbox)
    app.post("/echo")(echo)
    return app


SHELLS: dict[str, Callable[[Inbox], Any]] = {
    "starlette-routes": starlette_routes,
    "fastapi-router": fastapi_router,
    "fastapi-middleware": fastapi_middleware,
}


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize("make", SHELLS.values(), ids=SHELLS.keys())
def test_refusals_duplicates_and_pass_through(make: Callable[[Inbox], Any]) -> None:
    """Each ASGI shell answers 401/400/405/413 from the core, acks duplicates, and leaves /echo its body."""
    inbox = Inbox.from_settings(settings_dict(max_body="2KB"))
    app = make(inbox)
    results: list[Any] = []

    async def main() -> None:
        async with client_for(app) as client:
            loop = asyncio.get_running_loop()

            def request(method: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
                fut = asyncio.run_coroutine_threadsafe(
                    client.request(method, path, content=body, headers=headers), loop
                )
                r = fut.result(10)
                return r.status_code, r.json(), dict(r.headers)

            await loop.run_in_executor(None, check_refusals, request, inbox.settings)
            r = await client.post("/echo", content=b"host body")
            results.append(r.json())
        await inbox.ashutdown()

    asyncio.run(main())
    assert results == [{"echo": "host body"}]


@pytest.mark.parametrize("make", SHELLS.values(), ids=SHELLS.keys())
def test_seed_events_run_handlers_under_the_app_lifespan(make: Callable[[Inbox], Any]) -> None:
    """Under the app's lifespan the executor starts, runs a handler per seed event, and drains at shutdown."""
    inbox = Inbox.from_settings(settings_dict())
    seen: list[tuple[str, str]] = []
    all_seen = asyncio.Event()
    deliveries = seed_deliveries(inbox.settings)

    @inbox.on("*")
    async def record(event: Any) -> None:
        seen.append((event.endpoint, event.id))
        if len(seen) >= len(deliveries):
            all_seen.set()

    app = make(inbox)
    started: list[bool] = []

    async def main() -> None:
        async with lifespan_of(app), client_for(app) as client:
            executor = inbox._async_executor
            started.append(executor is not None and executor.started)  # type: ignore[attr-defined]
            for d in deliveries:
                r = await client.post(d.path, content=d.body, headers=d.headers)
                assert r.json() == {"received": True}, r.text
            await asyncio.wait_for(all_seen.wait(), 10)

    asyncio.run(main())
    assert started == [True]  # started by the lifespan, before any delivery
    assert inbox._async_executor is None  # drained and stopped on lifespan shutdown
    assert sorted(seen) == sorted({*seen}) and len(seen) == len(deliveries)


def test_lifespan_helper_composes_with_the_apps_own_lifespan() -> None:
    """lifespan(inbox, own) starts the inbox before own's startup, passes own's state, drains after own's exit."""
    inbox = Inbox.from_settings(settings_dict())
    order: list[str] = []

    @asynccontextmanager
    async def own(app: Any) -> AsyncIterator[dict[str, str]]:
        order.append(f"own start, executor running={inbox._async_executor is not None}")
        yield {"greeting": "hi"}
        order.append(f"own stop, executor running={inbox._async_executor is not None}")

    app = Starlette(lifespan=hookinbox.starlette.lifespan(inbox, own))
    states: list[dict[str, Any]] = []

    async def main() -> None:
        async with lifespan_of(app) as state:
            states.append(dict(state))

    asyncio.run(main())
    assert states == [{"greeting": "hi"}]
    assert order == ["own start, executor running=True", "own stop, executor running=True"]
    assert inbox._async_executor is None


def test_middleware_composes_with_a_fastapi_lifespan() -> None:
    """FastAPI(lifespan=own) + WebhookMiddleware: own's startup, state and shutdown still run around the executor."""
    inbox = Inbox.from_settings(settings_dict())
    events: list[str] = []

    @asynccontextmanager
    async def own(app: Any) -> AsyncIterator[dict[str, str]]:
        events.append("startup")
        yield {"greeting": "hi"}
        events.append("shutdown")

    app = FastAPI(lifespan=own)
    app.add_middleware(WebhookMiddleware, inbox=inbox)

    async def main() -> None:
        async with lifespan_of(app) as state:
            assert state == {"greeting": "hi"}
            assert inbox._async_executor is not None and inbox._async_executor.started  # type: ignore[attr-defined]
            events.append("running")

    asyncio.run(main())
    assert events == ["startup", "running", "shutdown"] and inbox._async_executor is None


def test_routes_under_a_mount_answer_at_the_mounted_path() -> None:
    """Mounted under a prefix, each endpoint route answers at prefix + its configured path."""
    inbox = Inbox.from_settings(settings_dict())
    app = Starlette(routes=[Mount("/hooks", routes=hookinbox.starlette.webhook_routes(inbox))])
    d = seed_deliveries(inbox.settings)[0]
    got: list[int] = []

    async def main() -> None:
        async with client_for(app) as client:
            got.append((await client.post("/hooks" + d.path, content=d.body, headers=d.headers)).status_code)
            got.append((await client.post(d.path, content=d.body, headers=d.headers)).status_code)
        await inbox.ashutdown()

    asyncio.run(main())
    assert got == [200, 404]
