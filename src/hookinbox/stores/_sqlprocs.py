"""The SQL store's process registry (heartbeats, issue 15) and the attempt history its settlements append.

Processes live in ``<table_prefix>processes``, one row per process that claims events. A claim
writes its process id into the event's ``owner``; :meth:`SQLProcesses.release_dead` gives the
claims of a process that stopped heartbeating back. Per dead process, in one transaction, it first
deletes the process row (still conditioned on the stale heartbeat) and releases that process's
events only if the delete removed the row: of concurrent sweepers, in any number of processes,
exactly one prunes it, and a heartbeat that lands first keeps the process alive.

:class:`SQLProcesses` is a base of :class:`~hookinbox.stores.sql.SQLStore`, which sets the attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from hookinbox.events import Attempt, ProcessInfo, Status
from hookinbox.stores._base import append_attempt, dead_message, history_from_json, history_to_json
from hookinbox.stores._sqlschema import Tables

__all__ = ["SQLProcesses"]

T = TypeVar("T")
_PROCESSING = Status.PROCESSING.value


class SQLProcesses:
    engine: sa.Engine
    tables: Tables
    t: sa.Table

    def _setup(self) -> None:
        raise NotImplementedError

    def _transaction(self, work: Callable[[sa.Connection], T]) -> T:
        raise NotImplementedError

    # -- attempt history ------------------------------------------------------------------------

    def _processing_rows(self, conn: sa.Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """The ``processing`` rows among ``keys`` (what a settlement needs), locked, in key order.

        Filtered on the primary key only (the status is checked here), so that MariaDB locks through
        the primary key, in key order like every batch, not through the status index."""
        c = self.t.c
        stmt = (
            sa.select(c.endpoint, c.id, c.status, c.attempts, c.updated_at, c.owner, c.history)
            .where(sa.tuple_(c.endpoint, c.id).in_(sorted(set(keys))))
            .order_by(c.endpoint, c.id)
            .with_for_update()
        )
        return {(r.endpoint, r.id): r for r in conn.execute(stmt) if r.status == _PROCESSING}

    @staticmethod
    def _appended(row: Any, now: float, outcome: str, error: str | None, process: str | None) -> str:
        """The row's history (JSON) with the attempt its claim started (number, claim time) appended."""
        attempt = Attempt(int(row.attempts), float(row.updated_at), now, outcome, error, process)
        return history_to_json(append_attempt(history_from_json(row.history), attempt))

    # -- process registry -----------------------------------------------------------------------

    def register_process(self, info: ProcessInfo) -> None:
        self._setup()
        p = self.tables.processes
        with self.engine.begin() as conn:
            conn.execute(p.delete().where(p.c.id == info.id))
            conn.execute(p.insert().values(info.to_dict()))

    def heartbeat(self, process_id: str, now: float) -> bool:
        self._setup()
        p = self.tables.processes
        with self.engine.begin() as conn:
            return bool(conn.execute(p.update().where(p.c.id == process_id).values(last_heartbeat=now)).rowcount == 1)

    def deregister_process(self, process_id: str) -> None:
        self._setup()
        p = self.tables.processes
        with self.engine.begin() as conn:
            conn.execute(p.delete().where(p.c.id == process_id))

    def processes(self) -> list[ProcessInfo]:
        self._setup()
        p = self.tables.processes
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(p).order_by(p.c.started_at, p.c.id))
            return [_process(r._mapping) for r in rows]

    def release_dead(self, now: float, timeout: float) -> list[tuple[ProcessInfo, list[tuple[str, str]]]]:
        self._setup()
        p = self.tables.processes
        cutoff = now - timeout
        with self.engine.connect() as conn:
            stmt = sa.select(p).where(p.c.last_heartbeat < cutoff).order_by(p.c.started_at, p.c.id)
            dead = [_process(r._mapping) for r in conn.execute(stmt)]
        out: list[tuple[ProcessInfo, list[tuple[str, str]]]] = []
        for info in dead:
            released = self._transaction(lambda conn, info=info: self._release(conn, info, now, cutoff))  # type: ignore[misc]
            if released is not None:
                out.append((info, released))
        return out

    def _release(
        self, conn: sa.Connection, info: ProcessInfo, now: float, cutoff: float
    ) -> list[tuple[str, str]] | None:
        """Prune one process and release its claims; None if another sweeper pruned it (or it heartbeated)."""
        p = self.tables.processes
        gone = conn.execute(p.delete().where(p.c.id == info.id, p.c.last_heartbeat < cutoff)).rowcount
        if gone != 1:
            return None
        c = self.t.c
        stmt = (
            sa.select(c.endpoint, c.id, c.attempts, c.updated_at, c.owner, c.history)
            .where(c.status == _PROCESSING, c.owner == info.id)
            .order_by(c.endpoint, c.id)
            .with_for_update()
        )
        message = dead_message(info, now)
        released: list[tuple[str, str]] = []
        for row in conn.execute(stmt).all():
            upd = (
                self.t.update()
                .where(c.endpoint == row.endpoint, c.id == row.id, c.status == _PROCESSING, c.owner == info.id)
                .values(
                    status=Status.FAILED.value,
                    next_attempt_at=now,
                    lease_until=None,
                    owner=None,
                    last_error=message,
                    updated_at=now,
                    history=self._appended(row, now, "released", message, info.id),
                )
            )
            if conn.execute(upd).rowcount:
                released.append((row.endpoint, row.id))
        return released


def _process(m: Any) -> ProcessInfo:
    return ProcessInfo(
        id=m["id"],
        host=m["host"],
        pid=int(m["pid"]),
        kind=m["kind"],
        started_at=float(m["started_at"]),
        last_heartbeat=float(m["last_heartbeat"]),
    )
