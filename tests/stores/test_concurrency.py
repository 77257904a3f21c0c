"""200 concurrent deliveries of one event: exactly one accepted and one handler run, on every store."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hookinbox.asgi import WebhookMiddleware as ASGIMiddleware
from hookinbox.events import Status
from hookinbox.wsgi import WebhookMiddleware as WSGIMiddleware
from tests.stores._helpers import EVENT_ID, PROVIDER, asgi_deliver, inbox_for, spawn_worker, wsgi_deliver
from tests.toolkit import wait_for

N = 200


def outcome(result: tuple[int, dict[str, str], dict[str, Any]]) -> str:
    status, _, body = result
    return "other" if status != 200 else ("duplicate" if body.get("duplicate") else "accepted")


def is_done(inbox: Any) -> bool:
    rec = inbox.store.get(PROVIDER.endpoint, EVENT_ID)
    return rec is not None and rec.status is Status.DONE


def test_threads(store_url: tuple[str, dict[str, Any]]) -> None:
    """200 deliveries from 16 threads through the WSGI middleware: one accepted, one handler run."""
    inbox = inbox_for(store_url)
    runs: list[str] = []
    lock = threading.Lock()

    @inbox.on("*")
    def handler(event: Any) -> None:
        with lock:
            runs.append(event.id)

    app = WSGIMiddleware(None, inbox)
    try:
        with ThreadPoolExecutor(16) as pool:
            counts = Counter(outcome(r) for r in pool.map(lambda _: wsgi_deliver(app), range(N)))
        assert counts == {"accepted": 1, "duplicate": N - 1}
        wait_for(lambda: is_done(inbox), what="the handler")
        assert runs == [EVENT_ID]
    finally:
        inbox.close()


def test_asyncio_tasks(store_url: tuple[str, dict[str, Any]]) -> None:
    """200 concurrent asyncio tasks through the ASGI middleware: one accepted, one handler run."""
    inbox = inbox_for(store_url)
    runs: list[str] = []

    @inbox.on("*")
    async def handler(event: Any) -> None:
        runs.append(event.id)

    app = ASGIMiddleware(None, inbox)

    async def main() -> Counter[str]:
        results = await asyncio.gather(*(asyncio.create_task(asgi_deliver(app)) for _ in range(N)))
        for _ in range(400):
            if await asyncio.to_thread(is_done, inbox):
                break
            await asyncio.sleep(0.05)
        await inbox.ashutdown()
        aclose = getattr(inbox.store, "aclose", None)
        if aclose is not None:
            await aclose()
        return Counter(outcome(r) for r in results)

    try:
        assert asyncio.run(main()) == {"accepted": 1, "duplicate": N - 1}
        assert is_done(inbox)
        assert runs == [EVENT_ID]
    finally:
        inbox.close()


@pytest.mark.slow
def test_two_processes(store_url: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    """Two processes sharing the store, 100 deliveries each: one accepted and one handler run in all."""
    url, options = store_url
    if url.startswith("memory"):
        pytest.skip("the memory store is not shared between processes")
    marker, go = tmp_path / "runs.txt", tmp_path / "go"
    config = {"mode": "deliver", "url": url, "options": options, "marker": str(marker), "go": str(go), "n": N // 2}
    procs = [spawn_worker(config) for _ in range(2)]
    go.touch()
    totals: Counter[str] = Counter()
    for proc in procs:
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err[-2000:]
        totals.update(json.loads(out.strip().splitlines()[-1]))
    assert totals == {"accepted": 1, "duplicate": N - 1, "other": 0}
    assert marker.read_text().splitlines() == ["done"]
