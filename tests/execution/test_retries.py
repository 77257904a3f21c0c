"""Retries, dead letter and replay, through the real receive path and executors."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import httpx
import pytest
from execution_helpers import PATH, delivery, settings
from tests.toolkit import wait_for, wait_status
from werkzeug.test import Client

from hookinbox import Inbox, RetryPolicy, Status
from hookinbox.asgi import WebhookMiddleware as AsgiMiddleware
from hookinbox.events import Event
from hookinbox.wsgi import WebhookMiddleware as WsgiMiddleware


def post(client: Client, event_id: str, event_type: str = "order.created") -> Any:
    body, headers = delivery(event_id, event_type)
    return client.post(PATH, data=body, headers=headers)


class Flaky:
    """A handler that fails its first ``failures`` calls per event, and notes each attempt it sees."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: Counter[str] = Counter()
        self.attempts: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.calls[event.id] += 1
            self.attempts.append(event.attempt)
            n = self.calls[event.id]
        if n <= self.failures:
            raise RuntimeError(f"downstream down (call {n})")


@pytest.fixture
def inbox(store_url: str) -> Any:
    ib = Inbox.from_settings(settings(store_url))
    yield ib
    ib.close()


def test_fails_twice_then_succeeds_ends_done_with_three_attempts(inbox: Inbox) -> None:
    """A handler failing twice is retried by hookinbox and ends done after 3 attempts; the sender saw one 200."""
    handler = Flaky(failures=2)
    inbox.add_handler(handler, "order.*")
    seen: list[str] = []
    inbox.add_observer(lambda what, ep, detail: seen.append(what))
    client = Client(WsgiMiddleware(None, inbox))
    assert post(client, "evt_flaky").status_code == 200
    rec = wait_for(
        lambda: (r := inbox.store.get("generic", "evt_flaky")) and r.status is Status.DONE and r, what="done"
    )
    assert rec.attempts == 3
    assert handler.attempts == [1, 2, 3]
    assert rec.last_error is None
    # "done" is observed once complete() has returned, a moment after the store shows the event done
    wait_for(lambda: "done" in seen, what="the done observation")
    assert seen.count("retried") == 2 and seen.count("done") == 1 and seen.count("accepted") == 1


def test_always_failing_handler_ends_dead_with_its_error(inbox: Inbox) -> None:
    """A handler that always fails is tried max_attempts (3) times, then the event is dead with the last error."""
    handler = Flaky(failures=10**6)
    inbox.add_handler(handler, "*")
    client = Client(WsgiMiddleware(None, inbox))
    assert post(client, "evt_poison").status_code == 200
    rec = wait_for(
        lambda: (r := inbox.store.get("generic", "evt_poison")) and r.status is Status.DEAD and r, what="dead"
    )
    assert rec.attempts == 3 and handler.calls["evt_poison"] == 3
    assert "RuntimeError: downstream down (call 3)" in (rec.last_error or "")
    assert [r.id for r in inbox.store.list(endpoint="generic", status=Status.DEAD)] == ["evt_poison"]


def test_replay_of_a_dead_event_runs_it_again(inbox: Inbox) -> None:
    """inbox.replay on a dead event makes it pending and the running executor handles it again, to done."""
    handler = Flaky(failures=3)  # dead after 3 attempts, succeeds on the 4th call
    inbox.add_handler(handler, "*")
    client = Client(WsgiMiddleware(None, inbox))
    post(client, "evt_replay")
    wait_status(inbox, "evt_replay", Status.DEAD)
    assert inbox.replay("evt_replay") == 1
    rec = wait_for(
        lambda: (r := inbox.store.get("generic", "evt_replay")) and r.status is Status.DONE and r, what="done"
    )
    assert handler.calls["evt_replay"] == 4 and rec.attempts == 1


def test_replay_dead_replays_every_dead_event_of_an_endpoint(inbox: Inbox) -> None:
    """replay_dead(endpoint) re-runs all dead events of the endpoint; replay of an unknown id replays nothing."""
    handler = Flaky(failures=3)
    inbox.add_handler(handler, "*")
    client = Client(WsgiMiddleware(None, inbox))
    for i in range(3):
        post(client, f"evt_d{i}")
    wait_for(lambda: len(inbox.store.list(endpoint="generic", status=Status.DEAD)) == 3, what="3 dead")
    assert inbox.replay("no-such-event") == 0
    assert inbox.replay_dead("generic") == 3
    wait_for(lambda: len(inbox.store.list(endpoint="generic", status=Status.DONE)) == 3, what="3 done")
    assert all(handler.calls[f"evt_d{i}"] == 4 for i in range(3))


def test_a_retry_skips_handlers_that_already_succeeded(inbox: Inbox) -> None:
    """With two handlers on one event, a retry runs only the one that failed."""
    ok_calls: list[str] = []
    inbox.add_handler(lambda e: ok_calls.append(e.id), "*", name="ok")
    flaky = Flaky(failures=1)
    inbox.add_handler(flaky, "*", name="flaky")
    client = Client(WsgiMiddleware(None, inbox))
    post(client, "evt_two")
    rec = wait_status(inbox, "evt_two", Status.DONE)
    assert ok_calls == ["evt_two"] and flaky.calls["evt_two"] == 2 and rec.attempts == 2


def test_endpoint_settings_override_the_global_retry_policy() -> None:
    """max_attempts/retry_delay/retry_max_delay are read per endpoint, falling back to [hookinbox]."""
    ib = Inbox.from_settings(
        settings(endpoint={"max_attempts": 7, "retry_delay": "2s", "retry_max_delay": "1m"}, max_attempts=2)
    )
    assert ib.endpoints["generic"].retry == RetryPolicy(max_attempts=7, delay=2.0, max_delay=60.0)
    data = settings(max_attempts=2, retry_delay="1s")
    del data["endpoints"]["generic"]["max_attempts"], data["endpoints"]["generic"]["retry_delay"]
    assert Inbox.from_settings(data).endpoints["generic"].retry == RetryPolicy(max_attempts=2, delay=1.0)


def test_backoff_is_full_jitter_capped_and_stops_at_max_attempts() -> None:
    """Delay after attempt n is rand * min(max_delay, delay * 2**(n-1)); None once max_attempts is reached."""
    p = RetryPolicy(max_attempts=5, delay=10.0, max_delay=35.0)
    assert [p.next_delay(n, 1.0) for n in range(1, 6)] == [10.0, 20.0, 35.0, 35.0, None]
    assert p.next_delay(2, 0.5) == 10.0 and p.next_delay(1, 0.0) == 0.0


def test_asyncio_executor_retries_and_runs_sync_handlers_off_the_loop(store_url: str) -> None:
    """Under ASGI, a flaky async handler ends done after 3 attempts and sync handlers never run on the loop thread."""
    ib = Inbox.from_settings(settings(store_url))
    flaky_calls: list[int] = []
    sync_threads: list[str] = []

    async def flaky(event: Event) -> None:
        flaky_calls.append(event.attempt)
        if len(flaky_calls) < 3:
            raise ValueError("not yet")

    ib.add_handler(flaky, "*", name="flaky")
    ib.add_handler(lambda e: sync_threads.append(threading.current_thread().name), "*", name="sync")

    async def main() -> Any:
        loop_thread = threading.current_thread().name
        app = AsgiMiddleware(None, ib)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            body, headers = delivery("evt_async")
            assert (await client.post(PATH, content=body, headers=headers)).status_code == 200
            for _ in range(1000):
                rec = ib.store.get("generic", "evt_async")
                if rec is not None and rec.status is Status.DONE:
                    break
                await asyncio.sleep(0.01)
        assert await ib.ashutdown()
        return loop_thread, rec

    loop_thread, rec = asyncio.run(main())
    ib.close()
    assert rec.status is Status.DONE and rec.attempts == 3 and flaky_calls == [1, 2, 3]
    assert sync_threads and loop_thread not in sync_threads
