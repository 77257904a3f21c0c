"""What an in-process executor has queued: a bound, no key queued twice, and what it had to defer."""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["Admission"]


class Admission:
    """Thread-safe set of the keys waiting in an executor's queue.

    It bounds the queue (``size``) for every thread that submits, and drops a
    second submission of a key still waiting (the sweeper finding an event
    that is already queued), so duplicates never eat the queue's room.

    A key a worker took stays *in flight* until :meth:`finished`: a sweep that read it as due a moment
    before its claim must not queue it again (it would wait in the queue for nothing, holding room).

    A key refused for lack of room while a durable store keeps the event is
    *deferred*: remembered here (up to ``10 * size`` keys) and queued again by
    the workers as soon as there is room, without waiting for a sweep or for
    ``recover_after``. Past that bound ``overflowed`` is set, and the next
    sweep looks for the forgotten ones at once.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.overflowed = False
        self._keys: set[tuple[str, str]] = set()
        self._inflight: set[tuple[str, str]] = set()
        self._deferred: deque[tuple[str, str]] = deque()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)

    def admit(self, key: tuple[str, str]) -> bool | None:
        """True: queue it now. None: already queued (nothing to do). False: full."""
        with self._lock:
            if key in self._keys or key in self._inflight:
                return None
            if len(self._keys) >= self.size:
                return False
            self._keys.add(key)
            return True

    def defer(self, key: tuple[str, str]) -> None:
        """Remember a refused key whose event a durable store keeps: it is queued again when there is room."""
        with self._lock:
            if len(self._deferred) >= 10 * self.size:
                self.overflowed = True
                return
            self._deferred.append(key)

    def take_deferred(self) -> list[tuple[str, str]]:
        """Deferred keys that fit in the room there is now (admitted: the caller queues them)."""
        with self._lock:
            out: list[tuple[str, str]] = []
            while self._deferred and len(self._keys) < self.size:
                key = self._deferred.popleft()
                if key not in self._keys and key not in self._inflight:
                    self._keys.add(key)
                    out.append(key)
            return out

    def taken(self, keys: list[tuple[str, str]]) -> None:
        """Workers took these keys out of the queue (in flight until :meth:`finished`)."""
        with self._lock:
            for key in keys:
                self._keys.discard(key)
                self._inflight.add(key)
            self._room.notify_all()

    def finished(self, keys: list[tuple[str, str]]) -> None:
        """Workers are done with these keys (settled, or left to the store)."""
        with self._lock:
            self._inflight.difference_update(keys)

    def wait_below(self, n: int, timeout: float) -> bool:
        """Wait until fewer than ``n`` keys are queued (a sweeper pacing itself to the workers)."""
        with self._lock:
            return self._room.wait_for(lambda: len(self._keys) < n, timeout)

    def take_overflow(self) -> bool:
        """True once after deferred keys were forgotten: the next sweep should not wait for ``recover_after``."""
        with self._lock:
            was, self.overflowed = self.overflowed, False
            return was

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def deferred(self) -> int:
        return len(self._deferred)
