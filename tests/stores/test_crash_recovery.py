"""A process killed with SIGKILL after acking, mid-handler: the next process runs the handler again."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from hookinbox.events import Status
from hookinbox.stores import store_from_url
from tests.stores._helpers import EVENT_ID, PROVIDER, spawn_worker
from tests.toolkit import wait_for

pytestmark = pytest.mark.slow


def test_killed_mid_handler_is_recovered(store_url: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    """Ack, SIGKILL during the handler, restart: the handler completes and the event is done."""
    url, options = store_url
    if url.startswith("memory"):
        pytest.skip("the memory store does not survive its process, by design")
    marker = tmp_path / "runs.txt"
    config = {"url": url, "options": options, "marker": str(marker), "lease": 1.0}
    first = spawn_worker({**config, "mode": "crash"})
    try:
        assert first.stdout is not None
        acked = json.loads(first.stdout.readline())
        assert acked == {"status": 200, "body": {"received": True}}
        wait_for(lambda: marker.exists() and "started" in marker.read_text(), what="the handler to start")
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL

    store = store_from_url(url, **options)
    try:
        rec = store.get(PROVIDER.endpoint, EVENT_ID)
        assert rec is not None and rec.status is Status.PROCESSING  # acked, claimed, never finished
        second = spawn_worker({**config, "mode": "recover"})
        _, err = second.communicate(timeout=60)
        assert second.returncode == 0, err[-2000:]
        assert marker.read_text().splitlines()[-1] == "done"
        rec = store.get(PROVIDER.endpoint, EVENT_ID)
        assert rec is not None and rec.status is Status.DONE and rec.attempts >= 2
    finally:
        store.close()
