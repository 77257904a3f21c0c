"""Stores with an async client process events with async handlers without leaving the event loop."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Any

import pytest

from hookinbox import Event, Inbox
from hookinbox.drive import run_async
from hookinbox.events import EventRecord, Status
from hookinbox.processing import process
from tests.seeds import settings_dict


class NoThreads(Executor):
    """A thread pool that refuses work: any blocking call made by the flow fails the test."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{getattr(fn, '__qualname__', fn)} was sent to a thread")


@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
def test_async_handler_on_redis_makes_no_thread_hop(store_url: tuple[str, dict[str, Any]]) -> None:
    """claim, an async handler and complete all run on the loop (aclaim/acomplete), and the event ends done."""
    url, options = store_url
    inbox = Inbox.from_settings(settings_dict(store=url, store_options=options))
    seen: list[str] = []

    @inbox.on("*")
    async def handler(event: Event) -> None:
        seen.append(event.id)

    async def main() -> str:
        record = EventRecord(
            endpoint="shop",
            id="evt_async",
            type="order.created",
            body=b'{"id": "evt_async"}',
            headers={},
            received_at=inbox.clock(),
        )
        assert await inbox.store.arecord(record)
        outcome = await run_async(process(inbox, "shop", "evt_async"), NoThreads())
        await inbox.store.aclose()  # type: ignore[attr-defined]
        return outcome

    try:
        assert asyncio.run(main()) == "done"
        assert seen == ["evt_async"]
        done = inbox.store.get("shop", "evt_async")
        assert done is not None and done.status is Status.DONE and done.attempts == 1
    finally:
        inbox.close()
