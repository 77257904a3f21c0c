"""What an in-process executor has queued: a bound, and no key queued twice."""

from __future__ import annotations

import threading

__all__ = ["Admission"]


class Admission:
    """Thread-safe set of the keys waiting in an executor's queue.

    It bounds the queue (``size``) for every thread that submits, and drops a
    second submission of a key still waiting (the sweeper finding an event
    that is already queued), so duplicates never eat the queue's room.
    ``overflowed`` is set when a submission was refused for lack of room: the
    sweeper then looks for those events (pending in a durable store) at once
    instead of waiting ``recover_after``.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.overflowed = False
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, str]) -> bool | None:
        """True: queue it now. None: already queued (nothing to do). False: full."""
        with self._lock:
            if key in self._keys:
                return None
            if len(self._keys) >= self.size:
                self.overflowed = True
                return False
            self._keys.add(key)
            return True

    def taken(self, key: tuple[str, str]) -> None:
        """A worker took the key out of the queue."""
        with self._lock:
            self._keys.discard(key)

    def take_overflow(self) -> bool:
        """True once after a refusal: the next sweep should not wait for ``recover_after``."""
        with self._lock:
            was, self.overflowed = self.overflowed, False
            return was

    def __len__(self) -> int:
        return len(self._keys)
