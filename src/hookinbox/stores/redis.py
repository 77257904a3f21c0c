"""The Redis store: redis-py, with records, claims and settlements written in batches.

::

    store = "redis://127.0.0.1:6379/0"        # or rediss:// for TLS

Every state change is a Lua script (:mod:`hookinbox.stores._redis_lua`), so
it is atomic across threads, tasks and processes: recording is ``SET NX`` of a
de-duplication key with a ``dedup_ttl`` expiry plus the event hash and its
index entries, in one step. Event hashes have no expiry: retention removes
finished ones (:meth:`RedisStore.purge`), unfinished ones stay until handled.

**Batches.** :meth:`~RedisStore.record`, :meth:`~RedisStore.claim`,
:meth:`~RedisStore.complete` and :meth:`~RedisStore.fail` (and their async
forms ``arecord``, ``aclaim``, ``acomplete``, ``afail``, which never block the
event loop) go through a :class:`~hookinbox.stores._groupcommit.Batcher` each: one
writer thread takes whatever queued while it wrote the previous batch, at most
``max_batch``, and sends it as ONE script call (``RECORD_MANY``,
``CLAIM_MANY``, ``SETTLE_MANY``) with the batch as one length-prefixed
argument. Per item the scripts do what they would for that item alone, in
queue order, with one result per item, so a duplicate in the same batch is
accepted once. A caller waits at most ``request_timeout``, then gets
:class:`~hookinbox.errors.StoreUnavailable` (503 + Retry-After); a batch whose
call fails fails all its callers the same way. A script error part-way through
a batch keeps the items written before it (Redis does not roll scripts back):
their callers got 503, and their retries are duplicates of pending events.

**Durability.** Redis is only as durable as its persistence settings. An
event is acked once Redis has it in memory; with the default snapshotting a
crash of the Redis server loses the last minutes of acked events. For an
inbox, run Redis with ``appendonly yes`` and ``appendfsync always`` (or accept
up to one second of loss with ``everysec``). A replica failover can lose
acknowledged writes (replication is asynchronous). ``durable`` is True in the
sense that events survive *this* process; choose PostgreSQL or MariaDB if
they must survive the loss of a server.

**Ordering by resource.** :meth:`~RedisStore.claim_ordered` and :meth:`~RedisStore.settle_ordered`
are one script call each, not batched: whether an event of a resource may be claimed depends on the
claims and settlements before it. Each resource has its pending events in a sorted set in order and
a hash naming the event that holds it (the keys are described in :mod:`hookinbox.stores._redis_lua`);
every script that moves an ordered event in or out of ``pending`` keeps that set right, so the
checks read two keys instead of scanning the resource's events.

Listing, finding and statistics scan the event index (O(number of events));
they are for operators, not for the hot path. Single Redis or a primary with
replicas; Redis Cluster is not supported (scripts touch many keys, all under
the store's ``prefix``).

Store options: ``prefix`` (``"hookinbox:"``), ``connect_timeout`` (2 s),
``socket_timeout`` (2 s: the longest any call waits for Redis; TCP keepalives and a ``PING``
after 10 idle seconds find dead connections too), ``max_connections`` (50; a call waits up to
``socket_timeout`` for a free one), ``request_timeout`` (3 s: how long a call
waits for its batch before the store counts as unavailable), ``max_batch``
(200 items per script call), ``client_options`` (passed to the connection pool).
"""

from __future__ import annotations

import builtins
import socket
from collections.abc import Iterator, Sequence
from typing import Any

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("the Redis store needs redis-py: pip install 'hookinbox[redis]'") from exc

from hookinbox.errors import ConfigurationError
from hookinbox.events import EventRecord, ProcessInfo, Status
from hookinbox.stores import StoreHealth, StoreStats, writers_health
from hookinbox.stores import _redis_lua as lua
from hookinbox.stores._base import dead_message
from hookinbox.stores._claims import BatchedProcessing, Claim, Settle
from hookinbox.stores._groupcommit import Batcher
from hookinbox.stores._query import Cursor, Filters, Timeline, add_to_timeline, empty_timeline
from hookinbox.stores._redis_codec import (
    claimed,
    glob_escape,
    member,
    pack,
    pack_process,
    process_from_packed,
    record_from_hash,
    record_row,
    split_member,
)

__all__ = ["RedisStore"]

_CHUNK = 500
_NO_BODY = ("endpoint", "id", "type", "status", "received_at", "updated_at", "attempts", "next_attempt_at",
            "lease_until", "timestamp", "last_error", "handlers_done", "headers", "owner", "order_key",
            "order_seq")  # fmt: skip
_SCRIPTS = ("RECORD_MANY", "CLAIM_MANY", "SETTLE_MANY", "HANDLER_DONE", "REPLAY", "DISCARD", "PURGE", "DROP_BODIES",
            "HEARTBEAT", "RELEASE", "CLAIM_ORDERED", "SETTLE_ORDERED", "DUE", "PURGE_KEYS")  # fmt: skip
_OPTIONS = ("prefix", "dedup_ttl", "connect_timeout", "socket_timeout", "max_connections", "client_options",
            "request_timeout", "max_batch")  # fmt: skip


_KEEPALIVE = {
    getattr(socket, name): value
    for name, value in (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
}


class RedisStore(BatchedProcessing):
    durable = True
    blocking = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "hookinbox:",
        dedup_ttl: float = 7 * 86400.0,
        connect_timeout: float = 2.0,
        socket_timeout: float = 2.0,
        max_connections: int = 50,
        client_options: dict[str, Any] | None = None,
        request_timeout: float = 3.0,
        max_batch: int = 200,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.dedup_ms = max(1, int(dedup_ttl * 1000))
        client_kwargs: dict[str, Any] = {
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": socket_timeout,
            "max_connections": max_connections,
            "timeout": socket_timeout,  # the longest a call waits for a free pooled connection
            # a silently dead connection: every call is bounded by socket_timeout (then the connection
            # is dropped and the next call connects afresh); idle ones are found by TCP keepalives and
            # by a PING before reuse after health_check_interval seconds
            "socket_keepalive": True,
            "socket_keepalive_options": _KEEPALIVE,
            "health_check_interval": 10,
            **(client_options or {}),
        }
        pool = redis.BlockingConnectionPool.from_url(url, **client_kwargs)
        self.client = redis.Redis(connection_pool=pool, retry=Retry(NoBackoff(), 1))
        self._scripts = {name: self.client.register_script(getattr(lua, name)) for name in _SCRIPTS}
        self.k_all, self.k_pending, self.k_wait = prefix + "all", prefix + "pending", prefix + "wait"
        self.k_processes, self.k_okeys = prefix + "processes", prefix + "okeys"
        n, wait = max_batch, request_timeout
        self._recorder: Batcher[EventRecord, bool] = Batcher(
            self._record_many, max_batch=n, timeout=wait, name="hookinbox-redis-record"
        )
        self._start_batchers(max_batch=n, timeout=wait, name="hookinbox-redis")

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        options.pop("max_events", None)
        options.pop("clock", None)  # every time comes from the caller
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"unknown Redis store option(s): {', '.join(sorted(unknown))}", key="hookinbox.store_options"
            )
        return cls(url, **options)

    def _ev(self, m: str) -> str:
        return f"{self.prefix}ev:{m}"

    # -- recording (batched: one RECORD_MANY per batch) ------------------------------------

    def record(self, record: EventRecord) -> bool:
        return self._recorder.run(record)

    async def arecord(self, record: EventRecord) -> bool:
        return await self._recorder.arun(record)

    def _record_many(self, records: Sequence[EventRecord]) -> list[bool]:
        args: list[str | int | bytes] = [self.prefix, self.dedup_ms, pack(map(record_row, records))]
        return [bool(x) for x in self._scripts["RECORD_MANY"](keys=[self.k_all, self.k_pending], args=args)]

    def discard(self, endpoint: str, event_id: str) -> None:
        m = member(endpoint, event_id)
        keys = [f"{self.prefix}dd:{m}", self._ev(m), self.k_all, self.k_pending, self.k_wait]
        self._scripts["DISCARD"](keys=keys, args=[self.prefix, m])

    # -- processing (claims and settlements batched like records) ---------------------------

    def _claim_many(self, items: Sequence[Claim]) -> list[EventRecord | None]:
        rows = ((member(ep, i), repr(now), repr(now + lease), owner) for ep, i, now, lease, owner in items)
        flat = self._scripts["CLAIM_MANY"](keys=[self.k_pending, self.k_wait], args=[self.prefix, pack(rows)])
        return [claimed(one) for one in flat]

    def due(self, now: float, recover_after: float, limit: int) -> list[tuple[str, str]]:
        """Pending events first, then failed and expired ones, through the ``DUE`` script: both indexes
        in one pipelined round trip, the ordered events that :meth:`claim_ordered` would refuse left out
        (a backlog of a busy resource never fills the page; a long one is read on in further calls)."""
        his = {self.k_pending: repr(now - recover_after), self.k_wait: repr(now)}
        offsets: dict[str, int] = dict.fromkeys(his, 0)
        found: dict[str, list[bytes]] = {index: [] for index in his}
        while offsets and sum(len(f) for f in found.values()) < limit:
            need = limit - sum(len(f) for f in found.values())
            pipe = self.client.pipeline(transaction=False)
            for index, offset in offsets.items():
                args: list[str | int] = [self.prefix, repr(now), need, his[index], offset]
                self._scripts["DUE"](keys=[index], args=args, client=pipe)
            for index, (nxt, *members) in zip(list(offsets), pipe.execute(), strict=True):
                found[index].extend(members)
                if int(nxt) < 0:
                    del offsets[index]
                else:
                    offsets[index] = int(nxt)
        return [split_member(m) for m in [*found[self.k_pending], *found[self.k_wait]][:limit]]

    def claim_ordered(
        self, endpoint: str, event_id: str, now: float, lease: float, owner: str | None = None
    ) -> EventRecord | None:
        """One ``CLAIM_ORDERED`` call (not batched: its answer depends on the claims before it)."""
        row = (member(endpoint, event_id), repr(now), repr(now + lease), owner)
        keys = [self.k_pending, self.k_wait]
        return claimed(self._scripts["CLAIM_ORDERED"](keys=keys, args=[self.prefix, pack([row])]))

    def settle_ordered(self, settle: Settle, advance: bool) -> str | None:
        """One ``SETTLE_ORDERED`` call: the settlement, the key's ``last_seq`` and the next id, atomically."""
        ep, i, status, now, retry_at, error = settle
        row = (member(ep, i), Status(status).value, repr(now), None if retry_at is None else repr(retry_at), error)
        args: list[str | int | bytes] = [self.prefix, int(advance), pack([row])]
        nxt = self._scripts["SETTLE_ORDERED"](keys=[self.k_wait], args=args)
        return None if nxt is None else nxt.decode()

    def handler_done(self, endpoint: str, event_id: str, handler: str) -> None:
        self._scripts["HANDLER_DONE"](keys=[self._ev(member(endpoint, event_id))], args=[handler])

    def _settle_many(self, items: Sequence[Settle]) -> list[bool]:
        rows = (
            (member(ep, i), status.value, repr(now), None if retry_at is None else repr(retry_at), error)
            for ep, i, status, now, retry_at, error in items
        )
        out = self._scripts["SETTLE_MANY"](keys=[self.k_wait], args=[self.prefix, pack(rows)])
        return [bool(x) for x in out]

    # -- process registry (heartbeats) --------------------------------------------------------

    def register_process(self, info: ProcessInfo) -> None:
        self.client.hset(self.k_processes, info.id, pack_process(info))

    def heartbeat(self, process_id: str, now: float) -> bool:
        return bool(self._scripts["HEARTBEAT"](keys=[self.k_processes], args=[process_id, repr(now)]))

    def deregister_process(self, process_id: str) -> None:
        self.client.hdel(self.k_processes, process_id)

    def processes(self) -> list[ProcessInfo]:
        found = [process_from_packed(v) for v in self.client.hgetall(self.k_processes).values()]
        return sorted(found, key=lambda p: (p.started_at, p.id))

    def release_dead(self, now: float, timeout: float) -> list[tuple[ProcessInfo, list[tuple[str, str]]]]:
        """Each dead process in its own ``RELEASE`` script: pruned, claims released, by exactly one caller."""
        cutoff = now - timeout
        out: list[tuple[ProcessInfo, list[tuple[str, str]]]] = []
        for info in self.processes():
            if info.last_heartbeat >= cutoff:
                continue
            args = [self.prefix, info.id, repr(cutoff), repr(now), dead_message(info, now)]
            done = self._scripts["RELEASE"](keys=[self.k_processes, self.k_wait], args=args)
            if int(done[0]) == 1:
                out.append((info, [split_member(m) for m in done[1:]]))
        return out

    # -- inspection and operations ----------------------------------------------------------

    def get(self, endpoint: str, event_id: str) -> EventRecord | None:
        h = self.client.hgetall(self._ev(member(endpoint, event_id)))
        return record_from_hash(h) if h else None

    def _members(self, newest_first: bool = False, max_score: str = "+inf") -> Iterator[list[Any]]:
        """The index in chunks (oldest first unless ``newest_first``)."""
        offset = 0
        while True:
            if newest_first:
                chunk = self.client.zrevrangebyscore(self.k_all, max_score, "-inf", start=offset, num=_CHUNK)
            else:
                chunk = self.client.zrangebyscore(self.k_all, "-inf", max_score, start=offset, num=_CHUNK)
            if not chunk:
                return
            yield chunk
            offset += len(chunk)

    def find(self, event_id: str) -> list[EventRecord]:
        pattern = "*:" + glob_escape(event_id)
        out = []
        for m in self.client.zscan_iter(self.k_all, match=pattern, count=1000):
            ep, i = split_member(m[0])
            if i == event_id and (rec := self.get(ep, i)) is not None:
                out.append(rec)
        return sorted(out, key=lambda r: r.endpoint)

    def list(
        self,
        *,
        endpoint: str | None = None,
        status: Status | None = None,
        type: str | None = None,
        limit: int = 50,
        before: Cursor | None = None,
        since: float | None = None,
        until: float | None = None,
        id_prefix: str | None = None,
    ) -> list[EventRecord]:
        """Newest first; ties of ``received_at`` in the index's order (its members, descending)."""
        out: list[EventRecord] = []
        if limit <= 0:
            return out
        for rec in self._listing(Filters(endpoint, status, type, since, until, id_prefix), before):
            out.append(rec)
            if len(out) >= limit:
                break
        return out

    def replay(self, endpoint: str, event_id: str, now: float) -> bool:
        m = member(endpoint, event_id)
        keys = [self._ev(m), self.k_pending, self.k_wait, self.k_all]
        return bool(self._scripts["REPLAY"](keys=keys, args=[self.prefix, repr(now), m]))

    def purge(self, before: float, statuses: Sequence[Status] = (Status.DONE, Status.DEAD)) -> int:
        """Events in chunks of the index (``PURGE``); with ``Status.DONE``, then the ordering keys not
        touched since ``before`` (``PURGE_KEYS``, read from the ``okeys`` index). Returns the events deleted."""
        wanted = "," + ",".join(Status(s).value for s in statuses) + ","
        total = 0
        offset = 0
        while True:
            chunk = self.client.zrangebyscore(self.k_all, "-inf", f"({before!r}", start=offset, num=_CHUNK)
            if not chunk:
                if Status.DONE in statuses:
                    self._purge_keys(before)
                return total
            n = int(
                self._scripts["PURGE"](
                    keys=[self.k_all, self.k_pending, self.k_wait], args=[self.prefix, wanted, *chunk]
                )
            )
            total += n
            offset += len(chunk) - n

    def _purge_keys(self, before: float) -> None:
        offset = 0
        while True:
            chunk = self.client.zrangebyscore(self.k_okeys, "-inf", f"({before!r}", start=offset, num=_CHUNK)
            if not chunk:
                return
            n = int(self._scripts["PURGE_KEYS"](keys=[self.k_okeys], args=[self.prefix, repr(before), *chunk]))
            offset += len(chunk) - n

    def drop_bodies(self, before: float) -> int:
        total = 0
        for chunk in self._members(max_score=f"({before!r}"):
            total += int(self._scripts["DROP_BODIES"](keys=[self.k_all], args=[self.prefix, *chunk]))
        return total

    def stats(self) -> StoreStats:
        out: StoreStats = {}
        for chunk in self._members():
            pipe = self.client.pipeline(transaction=False)
            for m in chunk:
                pipe.hget(self._ev(m.decode()), "status")
            for m, st in zip(chunk, pipe.execute(), strict=True):
                if st is not None:
                    counts = out.setdefault(split_member(m)[0], {})
                    counts[st.decode()] = counts.get(st.decode(), 0) + 1
        return out

    # -- dashboard queries (scans of the index, newest first from a cursor) -------------------

    def _scan_desc(self, f: Filters, before: Cursor | None) -> Iterator[builtins.list[bytes]]:
        """Members of the index, newest first, strictly after ``before``, within ``f``'s time range.

        Keyset over ``(score, member)``: each chunk starts below the previous one's last score
        (one ZREVRANGEBYSCORE from the top, never an offset); the members that share the boundary
        score are read all at once, so a chunk never splits them.
        """
        lo = "-inf" if f.since is None else repr(f.since)
        hi = "+inf" if f.until is None else f"({f.until!r}"
        if before is not None and (f.until is None or before[0] < f.until):
            at, m = before[0], member(before[1], before[2]).encode()
            if f.since is None or at >= f.since:
                tied: Any = self.client.zrangebyscore(self.k_all, repr(at), repr(at))
                ties = [x for x in tied if x < m]
                if ties:
                    yield ties[::-1]
            hi = f"({at!r}"
        while True:
            chunk: Any = self.client.zrevrangebyscore(self.k_all, hi, lo, start=0, num=_CHUNK, withscores=True)
            if not chunk:
                return
            if len(chunk) < _CHUNK:
                yield [m for m, _ in chunk]
                return
            last = chunk[-1][1]
            yield [m for m, score in chunk if score > last]
            tied_last: Any = self.client.zrangebyscore(self.k_all, repr(last), repr(last))
            yield tied_last[::-1]
            hi = f"({last!r}"

    def _listing(self, f: Filters, before: Cursor | None) -> Iterator[EventRecord]:
        """The records (without bodies) that pass ``f``, newest first, after ``before``."""
        for chunk in self._scan_desc(f, before):
            keys = []
            for m in chunk:
                ep, i = split_member(m)
                if f.endpoint is not None and ep != f.endpoint:
                    continue
                if f.id_prefix is not None and not i.startswith(f.id_prefix):
                    continue
                keys.append(m)
            if not keys:
                continue
            pipe = self.client.pipeline(transaction=False)
            for m in keys:
                pipe.hmget(self._ev(m.decode()), _NO_BODY)
            for values in pipe.execute():
                if values[0] is None:
                    continue
                rec = record_from_hash(dict(zip(_NO_BODY, values, strict=True)))
                if f.rest_matches(rec.status, rec.type):
                    yield rec

    def count(
        self,
        *,
        endpoint: str | None = None,
        status: Status | None = None,
        type: str | None = None,
        since: float | None = None,
        until: float | None = None,
        id_prefix: str | None = None,
    ) -> int:
        """How many events :meth:`list` would return without a limit (a scan of the index)."""
        f = Filters(endpoint, status, type, since, until, id_prefix)
        if status is None and type is None and endpoint is None and id_prefix is None:
            lo = "-inf" if since is None else repr(since)
            hi = "+inf" if until is None else f"({until!r}"
            return int(self.client.zcount(self.k_all, lo, hi))
        return sum(1 for _ in self._listing(f, None))

    def timeline(self, since: float, until: float, *, bucket: float = 60.0, endpoint: str | None = None) -> Timeline:
        """Per ``bucket`` seconds of ``[since, until)``: events received, and of those the handled and failed."""
        out = empty_timeline(since, until, bucket)
        offset = 0
        while True:
            chunk: Any = self.client.zrangebyscore(
                self.k_all, repr(since), f"({until!r}", start=offset, num=_CHUNK, withscores=True
            )
            if not chunk:
                return out
            offset += len(chunk)
            if endpoint is not None:
                chunk = [(m, t) for m, t in chunk if split_member(m)[0] == endpoint]
            pipe = self.client.pipeline(transaction=False)
            for m, _ in chunk:
                pipe.hmget(self._ev(m.decode()), ("status", "updated_at"))
            for (_, received_at), (st, updated) in zip(chunk, pipe.execute(), strict=True):
                if st is not None:
                    add_to_timeline(out, since, until, bucket, received_at, st.decode(), float(updated))

    def oldest_pending(self) -> dict[str, float]:
        """``{endpoint: received_at}`` of the oldest ``pending`` event of each endpoint that has one."""
        out: dict[str, float] = {}
        offset = 0
        while True:
            chunk: Any = self.client.zrange(self.k_pending, offset, offset + _CHUNK - 1, withscores=True)
            if not chunk:
                return out
            offset += len(chunk)
            for m, t in chunk:
                out.setdefault(split_member(m)[0], float(t))

    def discard_dead(self, endpoint: str, event_id: str) -> bool:
        """Delete a ``dead`` event (an operator giving up on it); False if it is not dead."""
        keys = [self.k_all, self.k_pending, self.k_wait]
        return bool(self._scripts["PURGE"](keys=keys, args=[self.prefix, ",dead,", member(endpoint, event_id)]))

    def drop(self) -> None:
        """Delete every key under this store's ``prefix``. For tests and uninstalls."""
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=glob_escape(self.prefix) + "*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                self.client.delete(*batch)
                batch.clear()
        if batch:
            self.client.delete(*batch)

    def health(self) -> StoreHealth:
        """Unhealthy while writes fail or hang, or when ``PING`` fails (bounded by ``socket_timeout``)."""
        failing = writers_health(self._recorder, self._claimer, self._settler)
        if failing is not None:
            return failing
        try:
            self.client.ping()
        except Exception as exc:  # never the message: it may carry the URL
            return StoreHealth(False, f"probe failed: {type(exc).__name__}")
        return StoreHealth(True)

    def close(self) -> None:
        """Finish the queued batches, then release the connections."""
        self._recorder.close()
        self._close_batchers()
        self.client.close()
        self.client.connection_pool.disconnect()
