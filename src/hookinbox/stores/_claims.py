"""Claims and settlements through group-commit batchers, shared by the Redis and SQL stores.

Processing an event costs two store operations (claim, then complete or fail). Written one per
call, each pays the client library's whole per-command cost (and, for SQL, a transaction and its
commit); under load most of a durable store's CPU went there. :class:`BatchedProcessing` sends
them through two :class:`~hookinbox.stores._groupcommit.Batcher` writers, so whatever queued while the
previous batch was written goes in one call: the store implements ``_claim_many`` and
``_settle_many`` (one result per item, in order), and gets ``claim``/``aclaim``,
``complete``/``acomplete`` and ``fail``/``afail``. The async twins await their batch without
blocking the event loop and without a thread hop of their own.

A caller waits at most the batcher's timeout and then gets
:class:`~hookinbox.errors.StoreUnavailable`; a claim that lands after its caller gave up leaves
the event ``processing`` under a lease, and the sweeper runs it again when the lease expires.
"""

from __future__ import annotations

from collections.abc import Sequence

from hookinbox.events import EventRecord, Status
from hookinbox.stores._base import Settle, StoreBase
from hookinbox.stores._groupcommit import Batcher, FairLock

__all__ = ["BatchedProcessing", "Claim", "Settle"]

#: how long a claim or a settlement waits for its writer (a delivery's record waits ``record_timeout``)
PROCESSING_TIMEOUT = 30.0

Claim = tuple[str, str, float, float, str | None]  # endpoint, id, now, lease, owner (the claiming process)


class BatchedProcessing(StoreBase):
    """``claim``/``complete``/``fail`` and their async twins, batched; see the module docstring.

    ``claim_many``/``settle_many`` (a worker that took a batch from its queue) put the whole batch in
    the same writers: with several worker threads, their batches are committed together by one writer
    (one transaction per written batch, no lock contention between workers on SQLite), and the items
    keep their per-item semantics.
    """

    _claimer: Batcher[Claim, EventRecord | None]
    _settler: Batcher[Settle, bool]

    def _start_batchers(self, *, max_batch: int, timeout: float, name: str, turn: FairLock | None = None) -> None:
        # No sender waits on a claim or a settlement (the 200 went out already), so they wait longer
        # than a delivery's record does: a caller that gave up on a claim that then landed leaves the
        # event ``processing`` under its lease, owned by this live process, for up to ``lease``.
        wait = max(timeout, PROCESSING_TIMEOUT)
        self._claimer = Batcher(self._claim_many, max_batch=max_batch, timeout=wait, name=f"{name}-claim", turn=turn)
        self._settler = Batcher(self._settle_many, max_batch=max_batch, timeout=wait, name=f"{name}-settle", turn=turn)

    def _close_batchers(self) -> None:
        self._claimer.close()
        self._settler.close()

    def _claim_many(self, items: Sequence[Claim]) -> list[EventRecord | None]:
        """Claim each item: the claimed record (attempts already counted), or None."""
        raise NotImplementedError

    def _settle_many(self, items: Sequence[Settle]) -> list[bool]:
        """Settle each item that is ``processing``: True if it was."""
        raise NotImplementedError

    def claim(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        return self._claimer.run((endpoint, event_id, now, lease, owner))

    async def aclaim(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        """:meth:`claim` for the event loop: awaits its batch, never blocks the loop."""
        return await self._claimer.arun((endpoint, event_id, now, lease, owner))

    def claim_many(
        self, keys: Sequence[tuple[str, str]], now: float, lease: float, owner: str | None = None
    ) -> list[EventRecord | None]:
        """Claim every key through the claim writer; one result per key, in order."""
        if not keys:
            return []
        return self._claimer.run_many([(endpoint, event_id, now, lease, owner) for endpoint, event_id in keys])

    def settle_many(self, items: Sequence[Settle]) -> list[bool]:
        """Settle every item through the settle writer; True for each that was processing."""
        if not items:
            return []
        return self._settler.run_many(items)

    def complete(self, endpoint: str, event_id: str, now: float) -> None:
        self._settler.run((endpoint, event_id, Status.DONE, now, None, None))

    async def acomplete(self, endpoint: str, event_id: str, now: float) -> None:
        """:meth:`complete` for the event loop."""
        await self._settler.arun((endpoint, event_id, Status.DONE, now, None, None))

    def fail(self, endpoint: str, event_id: str, now: float, error: str, retry_at: float | None) -> None:
        self._settler.run(_failed(endpoint, event_id, now, error, retry_at))

    async def afail(self, endpoint: str, event_id: str, now: float, error: str, retry_at: float | None) -> None:
        """:meth:`fail` for the event loop."""
        await self._settler.arun(_failed(endpoint, event_id, now, error, retry_at))


def _failed(endpoint: str, event_id: str, now: float, error: str, retry_at: float | None) -> Settle:
    return (endpoint, event_id, Status.DEAD if retry_at is None else Status.FAILED, now, retry_at, error)
