"""Warnings that an overload would otherwise repeat once per request.

When the queue is full or the store is down, every delivery is refused with 503 and the
same warning would be written once per request: thousands of lines a second, written
exactly when the server has the least time to spare (a flood of refusals measured
~15% slower per request than accepting, the log line being most of the difference).
:class:`Throttled` writes the first warning for a key, then at most one per ``every``
seconds, saying how many it left out; the ones left out go to DEBUG, and every refusal
is still counted by the inbox's observers (metrics).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable

__all__ = ["Throttled"]


class Throttled:
    """``warning(key, msg, *args)``: one WARNING per ``every`` seconds per key, the rest counted."""

    def __init__(self, logger: logging.Logger, every: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.every = every
        self.clock = clock
        self._lock = threading.Lock()
        self._until: dict[Hashable, float] = {}
        self._left_out: dict[Hashable, int] = {}

    def warning(self, key: Hashable, msg: str, *args: object) -> None:
        now = self.clock()
        with self._lock:
            if now < self._until.get(key, float("-inf")):
                self._left_out[key] = self._left_out.get(key, 0) + 1
                left_out = -1
            else:
                self._until[key] = now + self.every
                left_out = self._left_out.pop(key, 0)
        if left_out < 0:
            self.logger.debug(msg, *args)
        elif left_out:
            self.logger.warning(msg + " (and %d more like it in the last %g s)", *args, left_out, self.every)
        else:
            self.logger.warning(msg, *args)
