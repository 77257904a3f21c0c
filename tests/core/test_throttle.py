"""Overload warnings: the first is written, then at most one per window, saying how many were left out."""

from __future__ import annotations

import logging

import pytest

from hookinbox._throttle import Throttled


def test_one_warning_per_window_per_key_and_the_rest_counted(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    t = Throttled(logging.getLogger("hookinbox.test"), every=5.0, clock=lambda: now[0])
    with caplog.at_level(logging.DEBUG, logger="hookinbox.test"):
        for i in range(4):
            t.warning(("shop", "queue_full"), "queue full; refused event %s", f"e{i}")
        t.warning(("orders", "queue_full"), "queue full; refused event %s", "o1")  # another key: its own window
        now[0] += 5.0
        t.warning(("shop", "queue_full"), "queue full; refused event %s", "e4")
        now[0] += 5.0
        t.warning(("shop", "queue_full"), "queue full; refused event %s", "e5")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "queue full; refused event e0",
        "queue full; refused event o1",
        "queue full; refused event e4 (and 3 more like it in the last 5 s)",
        "queue full; refused event e5",
    ]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug == ["queue full; refused event e1", "queue full; refused event e2", "queue full; refused event e3"]
