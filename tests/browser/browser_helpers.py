"""Driving a dashboard in Debian's chromium with Playwright: the browser, signed deliveries, and the one
flow every mounting (standalone, Flask, Django) must pass."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.conftest import require_module, require_tool
from tests.seeds import PROVIDERS

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "img"
GENERIC = next(p for p in PROVIDERS if p.endpoint == "generic")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def launch() -> Iterator[Any]:
    """A headless chromium (Debian's package; Playwright never downloads one here), closed afterwards."""
    require_module("playwright")
    executable = require_tool("chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def deliver(base_url: str, event_id: str, event_type: str = "user.created") -> str:
    """POST one event to the generic endpoint, signed as the provider signs it; fails unless 200.
    Returns the signature sent (which no page may show)."""
    payload = {
        "id": event_id,
        "type": event_type,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": {"name": "Ada Lovelace", "email": "ada@example.com"},
    }
    body = json.dumps(payload).encode()
    headers = GENERIC.headers(body)
    req = urllib.request.Request(base_url + GENERIC.path, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200, r.read()
    return headers[GENERIC.header]


def until(page: Any, check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Reload ``page`` until ``check()`` is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)
        page.reload()


def count(page: Any, endpoint: str, column: str) -> int:
    return int(page.locator(f'tr[data-endpoint="{endpoint}"] td[data-count="{column}"]').inner_text())


def listed_ids(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("table.events tbody td:nth-child(3) a").all_inner_texts()]


def shoot(page: Any, shots: bool, name: str) -> None:
    if shots:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"dashboard-{name}.png"), full_page=True)


def dashboard_flow(
    page: Any,
    *,
    dashboard_url: str,
    receiver_url: str,
    fail: Callable[[str], None],
    heal: Callable[[str], None],
    tag: str,
    shots: bool = False,
) -> None:
    """The operator's round: counts move after deliveries, filter, open an event, replay it and see the new
    attempt, discard a dead one. ``page`` is logged in and on the overview; ``fail``/``heal`` make the
    handler fail, or stop failing, for one event id."""
    page.goto(dashboard_url + "/")
    before = {c: count(page, "generic", c) for c in ("received", "handled", "dead")}
    ok = [f"evt_{tag}_ok_{i}" for i in range(3)]
    dead, doomed = f"evt_{tag}_dead", f"evt_{tag}_doomed"
    fail(dead)
    fail(doomed)
    signatures = {
        event_id: deliver(receiver_url, event_id, "user.created" if event_id in ok else "invoice.failed")
        for event_id in [*ok, dead, doomed]
    }
    until(
        page,
        lambda: count(page, "generic", "received") == before["received"] + 5
        and count(page, "generic", "handled") == before["handled"] + 3
        and count(page, "generic", "dead") == before["dead"] + 2,
        "the overview counts to move",
    )
    assert page.locator("#chart").get_attribute("data-drawn") == "true"  # the script drew the chart
    shoot(page, shots, "overview")

    # filter: the events page's form, as a user fills it
    page.click("nav >> text=Events")
    page.select_option('select[name="endpoint"]', "generic")
    page.select_option('select[name="status"]', "dead")
    page.fill('input[name="id"]', f"evt_{tag}_")
    page.click("button:has-text('Filter')")
    assert sorted(listed_ids(page)) == sorted([dead, doomed])
    assert "status=dead" in page.url
    shoot(page, shots, "events")

    # open one event: headers masked, body hidden, the error shown
    page.click(f"table.events >> text={dead}")
    assert page.locator("h1 .status").inner_text() == "dead"
    text = page.inner_text("main")
    assert "RuntimeError" in text and "Ada Lovelace" not in text and "(hidden)" in text
    assert len(signatures[dead]) > 16 and signatures[dead] not in page.content()
    shoot(page, shots, "event")

    # replay it once the handler is healed: it runs again and is done, one new attempt
    heal(dead)
    page.click("button:has-text('Replay')")
    assert "Replayed 1 event" in page.inner_text(".flash")
    until(page, lambda: page.locator("h1 .status").inner_text() == "done", "the replayed event to be done")
    history = page.locator("table.attempts tbody tr")
    if history.count():  # the store keeps each attempt: the failed one and the replay
        assert history.count() >= 2
    else:
        assert page.inner_text("#attempts") == "1"

    # discard the other dead one
    page.goto(f"{dashboard_url}/event?endpoint=generic&id={doomed}")
    page.click("button:has-text('Discard')")
    assert "Discarded the dead event." in page.inner_text(".flash")
    page.goto(f"{dashboard_url}/events?endpoint=generic&id=evt_{tag}_")
    assert doomed not in listed_ids(page) and dead in listed_ids(page)

    # replay a filtered set: the confirmation counts, confirming replays them
    page.goto(f"{dashboard_url}/events?endpoint=generic&status=done&id=evt_{tag}_ok_")
    page.click("text=Replay these…")
    assert page.inner_text("#replay-count") == "3"
    shoot(page, shots, "replay")
    page.click("button:has-text('Replay 3 event')")
    assert "Replayed 3 event" in page.inner_text(".flash")

    page.click("nav >> text=Processes")
    assert re.search(r"does not track processes|Last heartbeat", page.inner_text("main"))
    shoot(page, shots, "processes")
