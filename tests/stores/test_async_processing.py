"""Stores with aclaim/acomplete/afail process events with async handlers without blocking the event loop.

The Redis store batches them through its own writer threads: the flow sends
nothing to the executor's thread pool, and while the store is slow to answer
the loop keeps running other tasks.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from typing import Any
from urllib.parse import urlsplit

import pytest

from hookinbox import Event, Inbox
from hookinbox.drive import run_async
from hookinbox.events import EventRecord, Status
from hookinbox.processing import process
from tests.seeds import settings_dict
from tests.stores._helpers import TcpProxy, via


class NoThreads(Executor):
    """A thread pool that refuses work: any blocking call made by the flow fails the test."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{getattr(fn, '__qualname__', fn)} was sent to a thread")


def record(inbox: Inbox, event_id: str) -> EventRecord:
    body = b'{"id": "%s"}' % event_id.encode()
    return EventRecord("shop", event_id, "order.created", body, {}, inbox.clock())


async def ticking(until: asyncio.Event, ticks: list[float]) -> None:
    while not until.is_set():
        ticks.append(time.monotonic())
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
def test_async_handler_on_redis_never_blocks_the_loop(store_url: tuple[str, dict[str, Any]]) -> None:
    """claim, an async handler and complete: nothing goes to the thread pool, and the loop runs on
    while the store (held behind a proxy for 0.3 s) has not answered the claim yet."""
    url, options = store_url
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 0)
    proxy.start()
    inbox = Inbox.from_settings(settings_dict(store=via(url, proxy.port), store_options=options))
    seen: list[str] = []

    @inbox.on("*")
    async def handler(event: Event) -> None:
        seen.append(event.id)

    async def main() -> tuple[str, float, list[float]]:
        assert await inbox.store.arecord(record(inbox, "evt_async"))
        proxy.hold()
        asyncio.get_running_loop().call_later(0.3, proxy.resume)  # fires only if the loop is free
        done, ticks = asyncio.Event(), []
        heartbeat = asyncio.ensure_future(ticking(done, ticks))
        started = time.monotonic()
        outcome = await run_async(process(inbox.runtime, "shop", "evt_async"), NoThreads())
        elapsed = time.monotonic() - started
        done.set()
        await heartbeat
        return outcome, elapsed, [t - started for t in ticks]

    try:
        outcome, elapsed, ticks = asyncio.run(main())
        assert outcome == "done"
        assert seen == ["evt_async"]
        assert elapsed >= 0.25  # the claim really waited for the held store ...
        assert len([t for t in ticks if 0.0 <= t < 0.25]) >= 5  # ... and the loop kept ticking meanwhile
        done = inbox.store.get("shop", "evt_async")
        assert done is not None and done.status is Status.DONE and done.attempts == 1
    finally:
        proxy.resume()
        inbox.close()
        proxy.stop()


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
def test_failing_async_handler_on_redis_settles_on_the_loop(store_url: tuple[str, dict[str, Any]]) -> None:
    """A failing async handler: the retry is stored through afail, again without the thread pool."""
    url, options = store_url
    inbox = Inbox.from_settings(settings_dict(store=url, store_options=options))

    @inbox.on("*")
    async def handler(event: Event) -> None:
        raise RuntimeError("boom")

    async def main() -> str:
        assert await inbox.store.arecord(record(inbox, "evt_fail"))
        return await run_async(process(inbox.runtime, "shop", "evt_fail"), NoThreads())

    try:
        assert asyncio.run(main()) == "retry"
        failed = inbox.store.get("shop", "evt_fail")
        assert failed is not None and failed.status is Status.FAILED and failed.attempts == 1
        assert failed.last_error is not None and "boom" in failed.last_error
        assert failed.next_attempt_at is not None and failed.next_attempt_at > failed.updated_at
    finally:
        inbox.close()
