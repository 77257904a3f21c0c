"""Backpressure: a bounded queue; 503 + Retry-After with the memory store, accept-and-recover with a durable one."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import httpx
import pytest
from execution_helpers import PATH, delivery, settings, wait_for, wait_status
from werkzeug.test import Client

from hookinbox import Inbox, Status
from hookinbox.asgi import WebhookMiddleware as AsgiMiddleware
from hookinbox.events import Event
from hookinbox.executors._admission import Admission
from hookinbox.wsgi import WebhookMiddleware as WsgiMiddleware


def test_admission_bounds_the_queue_and_ignores_a_key_already_queued() -> None:
    """A key already waiting is not queued twice (None); a full queue refuses (False)."""
    a = Admission(2)
    assert a.admit(("e", "1")) is True
    assert a.admit(("e", "1")) is None
    assert a.admit(("e", "2")) is True
    assert a.admit(("e", "3")) is False
    a.taken([("e", "1")])
    assert a.admit(("e", "1")) is None  # in flight: a sweep that saw it due must not queue it again
    assert a.admit(("e", "3")) is True and len(a) == 2
    a.finished([("e", "1")])
    assert a.admit(("e", "1")) is False  # no longer in flight, and the queue is full


def test_deferred_keys_come_back_when_there_is_room_and_overflow_is_flagged() -> None:
    """Refused keys of a durable store are remembered and handed back as room frees; past 10 x size, flagged."""
    a = Admission(1)
    assert a.admit(("e", "1")) is True
    for i in range(2, 14):
        a.defer(("e", str(i)))
    assert a.deferred == 10 and a.take_overflow() is True and a.take_overflow() is False
    assert a.take_deferred() == []  # no room yet
    a.taken([("e", "1")])
    assert a.take_deferred() == [("e", "2")] and len(a) == 1 and a.deferred == 9


def test_queue_full_with_memory_store_answers_503_and_every_200_is_handled(caplog: pytest.LogCaptureFixture) -> None:
    """Memory store, 1 worker busy and 2 queued: further deliveries get 503 + Retry-After; all 200s are handled.
    The four refusals write one warning, not four (an overload must not also flood the log)."""
    ib = Inbox.from_settings(settings(workers=1, queue_size=2, retry_after=7))
    gate = threading.Event()
    started = threading.Event()
    handled: list[str] = []

    def handler(event: Event) -> None:
        started.set()
        gate.wait(10)
        handled.append(event.id)

    ib.add_handler(handler)
    client = Client(WsgiMiddleware(None, ib))
    try:
        first = client.post(PATH, data=delivery("e0")[0], headers=delivery("e0")[1])
        assert first.status_code == 200
        assert started.wait(5)
        answers = {}
        for i in range(1, 7):
            body, headers = delivery(f"e{i}")
            answers[f"e{i}"] = client.post(PATH, data=body, headers=headers)
        ok = ["e0"] + [k for k, r in answers.items() if r.status_code == 200]
        refused = [k for k, r in answers.items() if r.status_code == 503]
        assert ok == ["e0", "e1", "e2"] and refused == ["e3", "e4", "e5", "e6"]
        r = answers["e3"]
        assert r.headers["Retry-After"] == "7" and r.get_json()["error"] == "queue_full"
        assert ib.store.get("generic", "e3") is None  # forgotten, so the sender's retry is not a duplicate
        full = [r for r in caplog.records if "queue full" in r.getMessage() and r.levelno == logging.WARNING]
        assert [r.getMessage() for r in full] == ["queue full; refused event e3 (generic) with 503"]
        gate.set()
        wait_for(lambda: sorted(handled) == ok, what="every acknowledged event handled")
        body, headers = delivery("e3")  # the sender retries after Retry-After
        again = client.post(PATH, data=body, headers=headers)
        assert again.status_code == 200 and again.get_json() == {"received": True}
        wait_status(ib, "e3", Status.DONE)
    finally:
        gate.set()
        ib.close()


def test_queue_full_under_asgi_with_memory_store_answers_503() -> None:
    """The asyncio executor is bounded too: past queue_size the memory store answers 503 + Retry-After."""
    ib = Inbox.from_settings(settings(workers=1, queue_size=1))

    async def main() -> Any:
        gate = asyncio.Event()
        started = asyncio.Event()

        async def handler(event: Event) -> None:
            started.set()
            await gate.wait()

        ib.add_handler(handler)
        app = AsgiMiddleware(None, ib)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            codes = []
            for i in range(4):
                body, headers = delivery(f"a{i}")
                codes.append((await client.post(PATH, content=body, headers=headers)).status_code)
                if i == 0:
                    await asyncio.wait_for(started.wait(), 5)
            gate.set()
            for _ in range(500):
                if all(ib.store.get("generic", f"a{i}").status is Status.DONE for i in range(2)):
                    break
                await asyncio.sleep(0.01)
            await ib.ashutdown()
            return codes

    codes = asyncio.run(main())
    assert codes == [200, 200, 503, 503]
    assert ib.store.get("generic", "a1").status is Status.DONE and ib.store.get("generic", "a2") is None
    ib.close()


def test_queue_full_with_durable_store_accepts_and_the_sweeper_recovers(sqlite_store: str) -> None:
    """A durable store accepts past a full queue; the overflow is swept at once, not after recover_after."""
    ib = Inbox.from_settings(settings(sqlite_store, workers=1, queue_size=1, recover_after="1h"))
    gate = threading.Event()
    handled: list[str] = []

    def handler(event: Event) -> None:
        gate.wait(10)
        handled.append(event.id)

    ib.add_handler(handler)
    client = Client(WsgiMiddleware(None, ib))
    try:
        for i in range(6):
            body, headers = delivery(f"d{i}")
            assert client.post(PATH, data=body, headers=headers).status_code == 200
        gate.set()
        wait_for(lambda: sorted(handled) == [f"d{i}" for i in range(6)], what="all six handled")
        wait_for(  # settled in a batch: a moment after the last handler returned
            lambda: all(ib.store.get("generic", f"d{i}").status is Status.DONE for i in range(6)), what="all done"
        )
    finally:
        gate.set()
        ib.close()
