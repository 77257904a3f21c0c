"""Liveness: this process registers in the store and heartbeats, so others can recover its claims.

A ``lease`` answers "how long may one handler run"; liveness answers "is the
process that claimed this event still there". Every process that claims
events (web processes with in-process executors, Celery/RQ workers, Django)
registers in the store's process registry and records a heartbeat every
``heartbeat_interval`` from a daemon thread of its own, which a busy handler
cannot starve (Python switches threads every few milliseconds). A sweeper in
any process prunes processes silent for longer than ``process_timeout`` and
gives back the events they held (see ``Store.release_dead``), so a SIGKILLed
process's events run again within ``process_timeout`` plus one sweep, while a
live process's long handler is never run twice.

A process that cannot heartbeat for longer than ``process_timeout`` (the
store is unreachable, or another process already pruned its row) must assume
its claims were given away: it stops claiming, says so in its log, and
registers afresh, with a new id, once the store answers again (the fix of
Solid Queue's pull request #778). With the memory store there is nothing to
recover: it lives and dies with its one process, so nothing registers.
"""

from __future__ import annotations

import logging
import os
import threading

from hookinbox.runtime import Runtime

__all__ = ["Liveness"]

log = logging.getLogger("hookinbox.liveness")


class Liveness:
    """Registration and heartbeats of one process in its runtime's store."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.kind = "web"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._last_ok = 0.0
        self._lost = False
        self._users = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, kind: str | None = None) -> None:
        """Register (at once, if the store answers) and start heartbeating; idempotent, counted."""
        with self._lock:
            if kind is not None:
                self.kind = kind
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                self._users += 1
                return
            if not self.rt.store.durable:
                return  # nothing to recover from a memory store: it dies with this process
            self._users = 1
            self._pid = os.getpid()
            self._stop = threading.Event()
            self.rt.new_identity(self.kind)
            self._register()
            self._thread = threading.Thread(target=self._run, name="hookinbox-heartbeat", daemon=True)
            self._thread.start()

    def stop(self, *, deregister: bool = True) -> None:
        """Stop heartbeating. ``deregister``: remove this process's row (a graceful exit with nothing left
        running); without it the row stays, so other processes give its claims back after ``process_timeout``
        (an exit that leaves handlers running)."""
        with self._lock:
            if self._users > 1:
                self._users -= 1
                return
            thread, self._thread = self._thread, None
            self._users = 0
            if thread is None or self._pid != os.getpid():
                return
            self._stop.set()
        thread.join(5.0)
        owner = self.rt.owner
        if deregister and owner is not None:
            try:
                self.rt.store.deregister_process(owner)
            except Exception as exc:
                log.warning("could not deregister process %s (%s)", owner, type(exc).__name__)

    @property
    def can_claim(self) -> bool:
        """False while this process may have been presumed dead by the others: its last recorded
        heartbeat is older than ``process_timeout`` (the store is unreachable, or a call hangs)."""
        if self._thread is None:
            return True  # not registered (memory store, tools, tests driving flows by hand)
        return not self._lost and self.rt.clock() - self._last_ok <= self.rt.settings.process_timeout

    # -- the heartbeat thread ---------------------------------------------------------------

    def _register(self) -> bool:
        rt = self.rt
        info = rt.identity(self.kind)
        try:
            rt.store.register_process(info)
        except Exception as exc:
            log.warning("could not register process %s in the store (%s); will retry", info.id, type(exc).__name__)
            return False
        self._last_ok = rt.clock()
        return True

    def _run(self) -> None:
        rt = self.rt
        interval = rt.settings.heartbeat_interval
        while not self._stop.wait(interval):
            self.beat()
            if rt.owner is None:  # forked child: the parent's thread object is stale
                return

    def beat(self) -> None:
        """One heartbeat (the thread calls it every ``heartbeat_interval``; tests may call it)."""
        rt = self.rt
        now = rt.clock()
        owner = rt.owner
        if owner is None:
            return
        try:
            alive = rt.store.heartbeat(owner, now)
        except Exception as exc:
            silent = now - self._last_ok
            if silent > rt.settings.process_timeout and not self._lost:
                self._lost = True
                log.error(
                    "no heartbeat recorded for %.0f s (%s): other processes may have taken this process's "
                    "events; it stops claiming until the store answers again",
                    silent,
                    type(exc).__name__,
                )
            return
        if alive and not self._lost:
            self._last_ok = now
            return
        if not alive:
            log.warning("process %s was presumed dead by another process; registering afresh", owner)
        # presumed dead, or back after heartbeats failed for too long: a fresh registration, a new id
        rt.new_identity(self.kind)
        if self._register():
            if self._lost:
                log.warning("store answers again; registered afresh as %s and claiming again", rt.owner)
            self._lost = False
