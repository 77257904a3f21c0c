"""Acking fast and losing nothing: blocking handlers, concurrent duplicates, full stores."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

import pytest

from hookinbox import Event
from tests.seeds import PROVIDERS
from tests.shells.conftest import Harness

SHOP = PROVIDERS[4]


def shop_event(i: int) -> bytes:
    payload = SHOP.preset.sample()
    payload["id"] = f"evt_{i}"
    return json.dumps(payload).encode()


def test_a_blocking_handler_does_not_delay_the_ack(harness: Harness) -> None:
    """While a handler is blocked inside, further deliveries are still acked (shown with events, not clocks)."""
    inside = threading.Event()
    release = threading.Event()

    @harness.inbox.on("order.created", endpoint="shop")
    def blocks(event: Event) -> None:
        inside.set()
        release.wait(10)

    try:
        body = shop_event(1)
        assert harness.post(SHOP.path, body, SHOP.headers(body)).status_code == 200
        assert inside.wait(5), "the handler never started"
        # The handler is provably still inside (release is not set) and new deliveries are acked.
        for i in range(2, 5):
            body = shop_event(i)
            assert harness.post(SHOP.path, body, SHOP.headers(body)).status_code == 200
        assert not release.is_set()
    finally:
        release.set()
    harness.wait_settled(4)


def test_100_concurrent_deliveries_of_one_id_dispatch_once(harness: Harness) -> None:
    """100 simultaneous deliveries of one event: all answered 200, the handler runs once."""
    body = shop_event(7)
    headers = SHOP.headers(body)
    statuses: list[int] = []
    if harness.shell == "asgi":
        client = harness.extra["asgi_client"]

        async def burst() -> list[int]:
            rs = await asyncio.gather(*(client.arequest("POST", SHOP.path, body, headers) for _ in range(100)))
            return [r.status_code for r in rs]

        statuses = client.run(burst())
    else:
        barrier = threading.Barrier(20)

        def worker() -> None:
            barrier.wait()
            for _ in range(5):
                statuses.append(harness.post(SHOP.path, body, headers).status_code)

        threads = [threading.Thread(target=worker) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [200] * 100
    harness.wait_settled(1)
    assert harness.recorder.ids() == ["evt_7"]


def test_store_full_of_unfinished_events_answers_503_then_recovers(
    shell: str, harness_factory: Callable[..., Harness], store_config: tuple[str, dict[str, object]]
) -> None:
    """With the memory store full of unfinished events: 503 + Retry-After, and the sender's retry later succeeds."""
    if not store_config[0].startswith("memory"):
        pytest.skip("max_events bounds the memory store only; durable stores are bounded by their disk")
    h = harness_factory(shell, max_events=1)
    release = threading.Event()
    h.inbox.on("order.created", endpoint="shop")(lambda e: release.wait(10))
    first, second = shop_event(1), shop_event(2)
    assert h.post(SHOP.path, first, SHOP.headers(first)).status_code == 200
    r = h.post(SHOP.path, second, SHOP.headers(second))
    assert r.status_code == 503
    assert r.headers["retry-after"].isdigit()
    assert r.json()["error"] == "store_full"
    release.set()
    h.wait_settled(1)
    assert h.post(SHOP.path, second, SHOP.headers(second)).status_code == 200
    h.recorder.wait_for(2)
    assert sorted(h.recorder.ids()) == ["evt_1", "evt_2"]


def test_handler_exception_never_reaches_the_sender(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """A handler that raises: the delivery was acked 200, the error is logged with the event id and kept."""

    @harness.inbox.on("order.created", endpoint="shop")
    def broken(event: Event) -> None:
        raise RuntimeError("downstream is down")

    body = shop_event(9)
    assert harness.post(SHOP.path, body, SHOP.headers(body)).status_code == 200
    harness.recorder.wait_for(1)
    for _ in range(500):
        rec = harness.inbox.store.get("shop", "evt_9")
        if rec is not None and rec.last_error:
            break
        threading.Event().wait(0.01)
    assert rec is not None and "downstream is down" in (rec.last_error or "")
    assert any("evt_9" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)
