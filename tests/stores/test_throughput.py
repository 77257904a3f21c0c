"""Processing keeps up with acking: behaviour, not speed (speed is measured in benchmarks/).

* a 10,000-event backlog left in a durable store drains completely, each event handled once;
* an event this process deferred because its queue was full is queued again as soon as there is
  room, without waiting ``recover_after``;
* a ``def`` handler behind a real ASGI server receives every event of a burst that was acked.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from hookinbox.events import EventRecord, Status
from hookinbox.inbox import Inbox
from hookinbox.wsgi import WebhookMiddleware
from tests.conftest import require_module
from tests.execution.execution_helpers import HEADER, PATH, delivery, settings, wait_for

pytestmark = pytest.mark.slow


def _durable(store_url: tuple[str, dict[str, Any]]) -> None:
    if store_url[0].startswith("memory"):
        pytest.skip("a memory store keeps no backlog across processes and refuses what it cannot queue")


def _inbox(store_url: tuple[str, dict[str, Any]], **hookinbox: Any) -> Inbox:
    url, options = store_url
    data = settings(url, **hookinbox)
    data["hookinbox"]["store_options"] = dict(options)
    return Inbox.from_settings(data)


def test_a_10000_event_backlog_drains_completely_once(store_url: Any) -> None:
    """10,000 events left pending by a previous process are all handled, each exactly once."""
    _durable(store_url)
    n = 10_000
    left = _inbox(store_url)
    now = time.time() - 3600
    records = [
        EventRecord(
            endpoint="generic", id=f"b{i}", type="order.created", body=b'{"id": "b%d"}' % i, headers={}, received_at=now
        )
        for i in range(n)
    ]
    with ThreadPoolExecutor(64) as pool:  # concurrent callers: the store writes them in batches
        assert all(pool.map(left.store.record, records))
    left.close()

    seen: Counter[str] = Counter()
    lock = threading.Lock()
    inbox = _inbox(store_url, recover_after="1h", sweep_interval="1s")

    @inbox.on("*")
    def count(event: Any) -> None:
        with lock:
            seen[event.id] += 1

    inbox.startup()
    try:
        wait_for(lambda: len(seen) == n, timeout=180, what=f"{n} events handled (got {len(seen)})")
        assert max(seen.values()) == 1
        wait_for(lambda: inbox.store.stats().get("generic", {}).get("done", 0) == n, timeout=30, what="all done")
    finally:
        inbox.close()


def test_a_deferred_event_is_queued_again_without_waiting_recover_after(store_url: Any) -> None:
    """Queue full: the durable store keeps the event (200), and it runs as soon as there is room."""
    _durable(store_url)
    inbox = _inbox(store_url, queue_size=2, workers=1, recover_after="1h", sweep_interval="1h")
    gate = threading.Event()
    handled: list[str] = []

    @inbox.on("*")
    def slow(event: Any) -> None:
        gate.wait(30)
        handled.append(event.id)

    inbox.startup()
    app = WebhookMiddleware(None, inbox)
    try:
        for i in range(8):
            body, headers = delivery(f"d{i}")
            assert _post(app, body, headers) == 200
        assert inbox.sync_executor().pool.admission.deferred > 0  # type: ignore[attr-defined]
        gate.set()
        wait_for(lambda: sorted(handled) == [f"d{i}" for i in range(8)], timeout=30, what="every deferred event")
    finally:
        gate.set()
        inbox.close()


def _post(app: Any, body: bytes, headers: dict[str, str]) -> int:
    import io

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATH,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
        "HTTP_" + HEADER.upper().replace("-", "_"): headers[HEADER],
    }
    seen: list[int] = []
    b"".join(app(environ, lambda status, _headers: seen.append(int(status.split()[0]))))
    return seen[0]


def test_a_def_handler_under_an_asgi_server_gets_every_acked_event() -> None:
    """uvicorn, memory store, a plain ``def`` handler, a burst of 1,000: every 200 is handled."""
    require_module("uvicorn")
    require_module("httpx")
    import httpx
    import uvicorn

    from hookinbox.asgi import WebhookMiddleware as AsgiMiddleware

    inbox = Inbox.from_settings(settings(queue_size=5000))
    handled: list[str] = []

    @inbox.on("*")
    def plain(event: Any) -> None:
        handled.append(event.id)

    config = uvicorn.Config(AsgiMiddleware(None, inbox), host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="uvicorn to start")
    port = server.servers[0].sockets[0].getsockname()[1]

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=32)
        timeout = httpx.Timeout(30.0, pool=None)  # a burst queues for a connection: no pool deadline
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=timeout) as client:

            async def one(i: int) -> int:
                body, headers = delivery(f"a{i}")
                return (await client.post(PATH, content=body, headers=headers)).status_code

            return list(await asyncio.gather(*(one(i) for i in range(1000))))

    try:
        statuses = asyncio.run(burst())
        acked = statuses.count(200)
        assert acked > 0 and set(statuses) <= {200, 503}
        wait_for(lambda: len(handled) == acked, timeout=30, what=f"{acked} acked events handled (got {len(handled)})")
        assert len(set(handled)) == acked
    finally:
        server.should_exit = True
        thread.join(15)
    assert inbox.store.stats().get("generic", {}).get(Status.DONE.value, 0) == acked
