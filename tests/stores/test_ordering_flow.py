"""Ordering by resource end to end in one process, on every store: settings, receive, processing.

A Stripe endpoint ordered by ``data.object.id`` (its order seq defaults to the preset's timestamp,
``created``). Deliveries are received through the real receive flow and *held* (recorded, not yet
handed to a worker), as after an outage, or handled at once; the two-process case with real servers
is tests/cli/test_cli_ordering.py. (Here, not in tests/execution: this runs on every store.)
"""

from __future__ import annotations

from typing import Any

import pytest

from hookinbox import Inbox
from hookinbox.core import receive
from hookinbox.drive import run_sync
from hookinbox.errors import ConfigurationError
from hookinbox.events import Event, Status
from hookinbox.settings import Settings
from hookinbox.testing import signed_delivery

SECRET = "whsec_ordering_test_secret"


class Held:
    """An executor that takes every event and runs none (a backlog builds up in the store)."""

    remote = False

    def submit(self, endpoint: str, event_id: str, event: Any = None) -> bool:
        return True


def settings(store_url: tuple[str, dict[str, object]], **endpoint: Any) -> dict[str, Any]:
    url, options = store_url
    ep = {"path": "/stripe", "preset": "stripe", "secret": SECRET, "order_by": "data.object.id", **endpoint}
    return {"hookinbox": {"store": url, "store_options": options, "workers": 2}, "endpoints": {"stripe": ep}}


def payload(event_id: str, obj: str | None, created: Any, **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": event_id, "type": "customer.updated", "created": created, "data": {"object": {}}}
    if obj is not None:
        body["data"]["object"]["id"] = obj
    body["data"]["object"].update(data)
    return body


@pytest.fixture
def make_inbox(store_url: tuple[str, dict[str, object]]) -> Any:
    built: list[Inbox] = []

    def make(**endpoint: Any) -> Inbox:
        inbox = Inbox.from_settings(settings(store_url, **endpoint))
        built.append(inbox)
        return inbox

    yield make
    for inbox in built:
        inbox.shutdown()


def held(inbox: Inbox, *events: dict[str, Any]) -> None:
    """Receive each event through the real receive flow (verify, envelope, ordering, record), unhandled."""
    ep = inbox.settings.endpoints["stripe"]
    for body in events:
        d = signed_delivery("stripe", body, inbox=inbox)
        reply = run_sync(receive(inbox.runtime, ep, d.headers, d.body, Held()))  # type: ignore[arg-type]
        assert reply.status == 200, reply


def record_calls(inbox: Inbox) -> list[tuple[str, str, Any, bool]]:
    calls: list[tuple[str, str, Any, bool]] = []

    @inbox.on("*", endpoint="stripe")
    def apply(event: Event) -> None:
        calls.append((event.data.get("id"), event.id, event.payload["created"], event.stale))

    return calls


def status(inbox: Inbox, event_id: str) -> Status:
    rec = inbox.store.get("stripe", event_id)
    assert rec is not None
    return rec.status


def test_receive_records_the_resource_and_its_time(make_inbox: Any) -> None:
    inbox = make_inbox(order_seq="data.object.updated_at")
    held(
        inbox,
        payload("evt_a", "cus_1", 1, updated_at="2026-12-06T10:00:00.5Z"),
        payload("evt_b", None, 2, updated_at="2026-12-06T10:00:00Z"),  # no resource: unordered
        payload("evt_c", "cus_1", 3),  # no updated_at: unordered
        payload("evt_d", 42, 4, updated_at=1765015200),  # an integer id, a Unix time
    )
    a, b, c, d = (inbox.store.get("stripe", i) for i in ("evt_a", "evt_b", "evt_c", "evt_d"))
    assert a is not None and (a.order_key, a.order_seq) == ("cus_1", 1796551200.5)
    assert b is not None and (b.order_key, b.order_seq) == (None, None)
    assert c is not None and (c.order_key, c.order_seq) == (None, None)
    assert d is not None and (d.order_key, d.order_seq) == ("42", 1765015200.0)


def test_a_backlog_is_handled_in_order_per_resource(make_inbox: Any) -> None:
    """Events delivered out of order while nothing ran are handled in their own time order, one
    resource after the other's events interleaved freely, none stale."""
    inbox = make_inbox()
    calls = record_calls(inbox)
    held(
        inbox,
        payload("evt_30", "cus_1", 1700000030),
        payload("evt_b5", "cus_2", 1700000005),
        payload("evt_10", "cus_1", 1700000010),
        payload("evt_b1", "cus_2", 1700000001),
        payload("evt_20", "cus_1", 1700000020),
        payload("evt_plain", None, 1700000000),
    )
    inbox.process_due()
    per_key = {k: [c[2] for c in calls if c[0] == k] for k in ("cus_1", "cus_2")}
    assert per_key == {"cus_1": [1700000010, 1700000020, 1700000030], "cus_2": [1700000001, 1700000005]}
    assert len(calls) == 6 and not any(c[3] for c in calls)
    assert {status(inbox, c[1]) for c in calls} == {Status.DONE}


def test_an_older_event_after_a_newer_one_is_stale(make_inbox: Any) -> None:
    """Not run; visible as stale with the reason; a replay runs it with event.stale."""
    inbox = make_inbox()
    calls = record_calls(inbox)
    held(inbox, payload("evt_new", "cus_1", 1700000050))
    inbox.process_due()
    held(inbox, payload("evt_old", "cus_1", 1700000040))  # delivered late
    inbox.process_due()
    assert [c[1] for c in calls] == ["evt_new"]
    old = inbox.store.get("stripe", "evt_old")
    assert old is not None and old.status is Status.STALE
    assert old.last_error is not None and "newer event of 'cus_1'" in old.last_error
    assert old.history[-1].outcome == "stale"
    assert inbox.replay("evt_old", "stripe") == 1
    inbox.process_due()
    assert calls[-1] == ("cus_1", "evt_old", 1700000040, True)  # replayed: run, told it is stale
    assert status(inbox, "evt_old") is Status.STALE
    held(inbox, payload("evt_same", "cus_1", 1700000050))  # as new as the newest: not stale
    inbox.process_due()
    assert calls[-1] == ("cus_1", "evt_same", 1700000050, False)


def test_on_stale_run_runs_the_handler_with_stale(make_inbox: Any) -> None:
    inbox = make_inbox(on_stale="run")
    calls = record_calls(inbox)
    held(inbox, payload("evt_new", "cus_1", 1700000050))
    inbox.process_due()
    held(inbox, payload("evt_old", "cus_1", 1700000040))
    inbox.process_due()
    assert calls == [("cus_1", "evt_new", 1700000050, False), ("cus_1", "evt_old", 1700000040, True)]
    assert status(inbox, "evt_old") is Status.STALE


def test_a_failing_earlier_event_does_not_hold_the_resource(make_inbox: Any) -> None:
    """The earlier event fails and waits for its retry; the later one is handled meanwhile, and the
    earlier one, when retried, is stale (apply only if newer)."""
    inbox = make_inbox(retry_delay="1h")
    seen: list[str] = []

    @inbox.on("*", endpoint="stripe")
    def apply(event: Event) -> None:
        seen.append(event.id)
        if event.id == "evt_early":
            raise RuntimeError("the database said no")

    held(inbox, payload("evt_early", "cus_1", 1700000001))
    inbox.process_due()
    assert status(inbox, "evt_early") is Status.FAILED
    held(inbox, payload("evt_late", "cus_1", 1700000002))
    inbox.process_due()
    assert status(inbox, "evt_late") is Status.DONE
    store = inbox.store
    rec = store.get("stripe", "evt_early")
    assert rec is not None and rec.next_attempt_at is not None
    inbox.runtime.clock = lambda: rec.next_attempt_at + 1  # type: ignore[method-assign, operator]
    inbox.process_due()
    assert status(inbox, "evt_early") is Status.STALE
    assert seen == ["evt_early", "evt_late"]


def test_live_threads_handle_a_burst_in_order(make_inbox: Any) -> None:
    """Through the real thread executor: a burst of one resource's events delivered in order is handled
    in order, each once, none stale (the worker holding the resource goes on with the next one)."""
    inbox = make_inbox()
    calls = record_calls(inbox)
    ep = inbox.settings.endpoints["stripe"]
    for n in range(12):
        d = signed_delivery("stripe", payload(f"evt_{n:02d}", "cus_1", 1700000000 + n), inbox=inbox)
        assert inbox.receive(ep, d.headers, d.body).status == 200
    from tests.toolkit import wait_for

    wait_for(lambda: len(calls) == 12 or None, what="12 handled")
    assert [c[1] for c in calls] == [f"evt_{n:02d}" for n in range(12)]
    assert not any(c[3] for c in calls)


@pytest.mark.parametrize(
    ("endpoint", "where", "says"),
    [
        ({"order_seq": "created"}, "order_seq", "only with order_by"),
        ({"on_stale": "run"}, "on_stale", "only with order_by"),
        ({"order_by": "data.object.id", "on_stale": "later"}, "on_stale", "skip, run"),
        ({"order_by": ""}, "order_by", "path of the resource"),
    ],
)
def test_settings_mistakes(endpoint: dict[str, Any], where: str, says: str) -> None:
    raw = {"endpoints": {"stripe": {"path": "/stripe", "preset": "stripe", "secret": SECRET, **endpoint}}}
    with pytest.raises(ConfigurationError) as err:
        Settings.from_dict(raw, env={})
    assert where in str(err.value) and says in str(err.value)


def test_order_by_needs_a_time_when_the_envelope_has_none() -> None:
    raw = {
        "endpoints": {
            "x": {
                "path": "/x",
                "verify": {"scheme": "hmac", "header": "x-sig"},
                "secret": SECRET,
                "order_by": "data.id",
            }
        }
    }
    with pytest.raises(ConfigurationError) as err:
        Settings.from_dict(raw, env={})
    assert "order_seq" in str(err.value)
    raw["endpoints"]["x"]["order_seq"] = "header:X-Shop-Triggered-At"
    ordering = Settings.from_dict(raw, env={}).endpoints["x"].ordering
    assert ordering is not None and (ordering.key, ordering.seq) == ("data.id", "header:x-shop-triggered-at")


def test_async_handlers_on_the_loop_in_order(make_inbox: Any) -> None:
    """``async def`` handlers through the asyncio executor (ASGI's path): one resource's burst and a late,
    older event: handled in order, each once, the late one stale and not run."""
    import asyncio

    from tests.toolkit import await_for

    inbox = make_inbox()
    seen: list[tuple[str, bool]] = []
    running: set[str] = set()
    overlaps: list[str] = []

    @inbox.on("*", endpoint="stripe")
    async def apply(event: Event) -> None:
        key = event.data["id"]
        if key in running:
            overlaps.append(event.id)
        running.add(key)
        await asyncio.sleep(0.005)
        running.discard(key)
        seen.append((event.id, event.stale))

    ep = inbox.settings.endpoints["stripe"]

    async def main() -> None:
        for n in range(8):
            d = signed_delivery("stripe", payload(f"evt_{n}", "cus_1", 1700000010 + n), inbox=inbox)
            assert (await inbox.areceive(ep, d.headers, d.body)).status == 200
        await await_for(lambda: len(seen) == 8, what="8 handled")
        d = signed_delivery("stripe", payload("evt_late", "cus_1", 1700000001), inbox=inbox)
        assert (await inbox.areceive(ep, d.headers, d.body)).status == 200
        await await_for(lambda: status(inbox, "evt_late") is Status.STALE, what="the late event stale")
        await inbox.ashutdown()

    asyncio.run(main())
    assert seen == [(f"evt_{n}", False) for n in range(8)] and overlaps == []
