"""The Redis store: redis-py (sync) and ``redis.asyncio`` (so ``arecord`` needs no thread).

::

    store = "redis://127.0.0.1:6379/0"        # or rediss:// for TLS

Every state change is one Lua script (:mod:`hookinbox.stores._redis_lua`), so
it is atomic across threads, tasks and processes: recording is ``SET NX`` of a
de-duplication key with a ``dedup_ttl`` expiry plus the event hash and its
index entries, in one step. Event hashes have no expiry: retention removes
finished ones (:meth:`RedisStore.purge`), unfinished ones stay until handled.

**Durability.** Redis is only as durable as its persistence settings. An
event is acked once Redis has it in memory; with the default snapshotting a
crash of the Redis server loses the last minutes of acked events. For an
inbox, run Redis with ``appendonly yes`` and ``appendfsync always`` (or accept
up to one second of loss with ``everysec``). A replica failover can lose
acknowledged writes (replication is asynchronous). ``durable`` is True in the
sense that events survive *this* process; choose PostgreSQL or MariaDB if
they must survive the loss of a server.

Listing, finding and statistics scan the event index (O(number of events));
they are for operators, not for the hot path. Single Redis or a primary with
replicas; Redis Cluster is not supported (scripts touch several keys).

Store options: ``prefix`` (``"hookinbox:"``), ``connect_timeout`` (2 s),
``socket_timeout`` (2 s), ``max_connections`` (50 per client; a call waits up to
``socket_timeout`` for a free one), ``client_options`` (passed to the connection pool).
"""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

try:
    import redis
    import redis.asyncio as aredis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("the Redis store needs redis-py: pip install 'hookinbox[redis]'") from exc

from hookinbox.errors import ConfigurationError
from hookinbox.events import EventRecord, Status
from hookinbox.stores import StoreStats
from hookinbox.stores import _redis_lua as lua

__all__ = ["RedisStore"]

_CHUNK = 500
_NO_BODY = ("endpoint", "id", "type", "status", "received_at", "updated_at", "attempts", "next_attempt_at",
            "lease_until", "timestamp", "last_error", "handlers_done", "headers")  # fmt: skip


def member(endpoint: str, event_id: str) -> str:
    """The index member of a key: the endpoint escaped so that the first ``:`` separates it."""
    return endpoint.replace("%", "%25").replace(":", "%3A") + ":" + event_id


def split_member(m: bytes | str) -> tuple[str, str]:
    text = m.decode() if isinstance(m, bytes) else m
    ep, _, event_id = text.partition(":")
    return ep.replace("%3A", ":").replace("%25", "%"), event_id


class RedisStore:
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
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.dedup_ms = max(1, int(dedup_ttl * 1000))
        self._client_kwargs: dict[str, Any] = {
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": socket_timeout,
            "max_connections": max_connections,
            "timeout": socket_timeout,  # the longest a call waits for a free pooled connection
            **(client_options or {}),
        }
        pool = redis.BlockingConnectionPool.from_url(url, **self._client_kwargs)
        self.client = redis.Redis(connection_pool=pool, retry=Retry(NoBackoff(), 1))
        self._scripts = {name: self.client.register_script(getattr(lua, name)) for name in _SCRIPTS}
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._alock = threading.Lock()
        self.k_all, self.k_pending, self.k_wait = prefix + "all", prefix + "pending", prefix + "wait"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        options.pop("max_events", None)
        options.pop("clock", None)  # every time comes from the caller
        known = ("prefix", "dedup_ttl", "connect_timeout", "socket_timeout", "max_connections", "client_options")
        unknown = set(options) - set(known)
        if unknown:
            raise ConfigurationError(
                f"unknown Redis store option(s): {', '.join(sorted(unknown))}", key="hookinbox.store_options"
            )
        return cls(url, **options)

    def _ev(self, m: str) -> str:
        return f"{self.prefix}ev:{m}"

    # -- recording --------------------------------------------------------------------------

    def _record_args(self, rec: EventRecord) -> tuple[list[str], list[Any]]:
        m = member(rec.endpoint, rec.id)
        fields: list[Any] = [
            "endpoint", rec.endpoint, "id", rec.id, "type", rec.type, "status", Status.PENDING.value,
            "received_at", repr(rec.received_at), "updated_at", repr(rec.received_at), "attempts", "0",
            "handlers_done", "[]", "headers", json.dumps(rec.headers),
        ]  # fmt: skip
        if rec.timestamp is not None:
            fields += ["timestamp", rec.timestamp]
        if rec.body is not None:
            fields += ["body", rec.body]
        keys = [f"{self.prefix}dd:{m}", self._ev(m), self.k_all, self.k_pending]
        return keys, [self.dedup_ms, m, repr(rec.received_at), *fields]

    def record(self, record: EventRecord) -> bool:
        keys, args = self._record_args(record)
        return bool(self._scripts["RECORD"](keys=keys, args=args))

    async def arecord(self, record: EventRecord) -> bool:
        keys, args = self._record_args(record)
        script = self._async_script("RECORD")
        return bool(await script(keys=keys, args=args))

    def _async_script(self, name: str) -> Any:
        """The script ``name`` on this event loop's async client (one client per loop)."""
        loop = asyncio.get_running_loop()
        found = self._aclients.get(loop)
        if found is None:
            with self._alock:
                apool = aredis.BlockingConnectionPool.from_url(self.url, **self._client_kwargs)
                client = aredis.Redis(connection_pool=apool, retry=_async_retry())
                scripts = {n: client.register_script(getattr(lua, n)) for n in ("RECORD", "CLAIM", "SETTLE")}
                found = (client, scripts)
                self._aclients[loop] = found
        return found[1][name]

    def discard(self, endpoint: str, event_id: str) -> None:
        m = member(endpoint, event_id)
        keys = [f"{self.prefix}dd:{m}", self._ev(m), self.k_all, self.k_pending, self.k_wait]
        self._scripts["DISCARD"](keys=keys, args=[m])

    # -- processing -------------------------------------------------------------------------

    def claim(self, endpoint: str, event_id: str, now: float, lease: float) -> EventRecord | None:
        keys, args = self._claim_args(endpoint, event_id, now, lease)
        return _claimed(self._scripts["CLAIM"](keys=keys, args=args))

    async def aclaim(self, endpoint: str, event_id: str, now: float, lease: float) -> EventRecord | None:
        """:meth:`claim` on the event loop's async client (processing without a thread hop)."""
        keys, args = self._claim_args(endpoint, event_id, now, lease)
        return _claimed(await self._async_script("CLAIM")(keys=keys, args=args))

    def _claim_args(self, endpoint: str, event_id: str, now: float, lease: float) -> tuple[list[str], list[str]]:
        m = member(endpoint, event_id)
        return [self._ev(m), self.k_pending, self.k_wait], [repr(now), repr(now + lease), m]

    def due(self, now: float, recover_after: float, limit: int) -> list[tuple[str, str]]:
        pipe = self.client.pipeline(transaction=False)
        pipe.zrangebyscore(self.k_pending, "-inf", repr(now - recover_after), start=0, num=limit)
        pipe.zrangebyscore(self.k_wait, "-inf", repr(now), start=0, num=limit)
        pending, waiting = pipe.execute()
        return [split_member(m) for m in [*pending, *waiting][:limit]]

    def handler_done(self, endpoint: str, event_id: str, handler: str) -> None:
        self._scripts["HANDLER_DONE"](keys=[self._ev(member(endpoint, event_id))], args=[handler])

    def complete(self, endpoint: str, event_id: str, now: float) -> None:
        self._settle(endpoint, event_id, Status.DONE, now, None, None)

    async def acomplete(self, endpoint: str, event_id: str, now: float) -> None:
        """:meth:`complete` on the event loop's async client."""
        keys, args = self._settle_args(endpoint, event_id, Status.DONE, now, None, None)
        await self._async_script("SETTLE")(keys=keys, args=args)

    def fail(self, endpoint: str, event_id: str, now: float, error: str, retry_at: float | None) -> None:
        self._settle(endpoint, event_id, Status.DEAD if retry_at is None else Status.FAILED, now, retry_at, error)

    def _settle(
        self, endpoint: str, event_id: str, status: Status, now: float, retry_at: float | None, error: str | None
    ) -> None:
        keys, args = self._settle_args(endpoint, event_id, status, now, retry_at, error)
        self._scripts["SETTLE"](keys=keys, args=args)

    def _settle_args(
        self, endpoint: str, event_id: str, status: Status, now: float, retry_at: float | None, error: str | None
    ) -> tuple[list[str], list[str]]:
        m = member(endpoint, event_id)
        args = [m, status.value, repr(now), "" if retry_at is None else repr(retry_at)]
        args += ["0", ""] if error is None else ["1", error]
        return [self._ev(m), self.k_wait], args

    # -- inspection and operations ----------------------------------------------------------

    def get(self, endpoint: str, event_id: str) -> EventRecord | None:
        h = self.client.hgetall(self._ev(member(endpoint, event_id)))
        return _record(h) if h else None

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
        pattern = "*:" + _glob_escape(event_id)
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
    ) -> list[EventRecord]:
        out: list[EventRecord] = []
        for chunk in self._members(newest_first=True):
            if endpoint is not None:
                chunk = [m for m in chunk if split_member(m)[0] == endpoint]
            pipe = self.client.pipeline(transaction=False)
            for m in chunk:
                pipe.hmget(self._ev(m.decode()), _NO_BODY)
            for values in pipe.execute():
                if values[0] is None:
                    continue
                rec = _record(dict(zip(_NO_BODY, values, strict=True)))
                if (status is None or rec.status is Status(status)) and (type is None or rec.type == type):
                    out.append(rec)
                    if len(out) >= limit:
                        return out
        return out

    def replay(self, endpoint: str, event_id: str, now: float) -> bool:
        m = member(endpoint, event_id)
        keys = [self._ev(m), self.k_pending, self.k_wait, self.k_all]
        return bool(self._scripts["REPLAY"](keys=keys, args=[repr(now), m]))

    def purge(self, before: float, statuses: Sequence[Status] = (Status.DONE, Status.DEAD)) -> int:
        wanted = "," + ",".join(Status(s).value for s in statuses) + ","
        total = 0
        offset = 0
        while True:
            chunk = self.client.zrangebyscore(self.k_all, "-inf", f"({before!r}", start=offset, num=_CHUNK)
            if not chunk:
                return total
            n = int(
                self._scripts["PURGE"](
                    keys=[self.k_all, self.k_pending, self.k_wait], args=[self.prefix, wanted, *chunk]
                )
            )
            total += n
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

    def drop(self) -> None:
        """Delete every key under this store's ``prefix``. For tests and uninstalls."""
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=_glob_escape(self.prefix) + "*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                self.client.delete(*batch)
                batch.clear()
        if batch:
            self.client.delete(*batch)

    def close(self) -> None:
        self.client.close()
        self.client.connection_pool.disconnect()
        self._aclients.clear()  # async clients of other loops cannot be awaited from here

    async def aclose(self) -> None:
        """Close the async client of the running loop (call before the loop stops)."""
        found = self._aclients.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found[0].aclose()
            await found[0].connection_pool.disconnect()


_SCRIPTS = ("RECORD", "CLAIM", "SETTLE", "HANDLER_DONE", "REPLAY", "DISCARD", "PURGE", "DROP_BODIES")
_STR: Callable[[Any], str | None] = lambda v: None if v is None else (v.decode() if isinstance(v, bytes) else str(v))  # noqa: E731


def _async_retry() -> Any:
    from redis.asyncio.retry import Retry as AsyncRetry

    return AsyncRetry(NoBackoff(), 1)


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _claimed(flat: Any) -> EventRecord | None:
    if not flat:
        return None
    return _record(dict(zip(flat[::2], flat[1::2], strict=True)))


def _float(v: Any) -> float | None:
    return None if v is None or v == b"" else float(v)


def _record(h: dict[Any, Any]) -> EventRecord:
    g = {(k.decode() if isinstance(k, bytes) else k): v for k, v in h.items()}
    return EventRecord(
        endpoint=_STR(g["endpoint"]) or "",
        id=_STR(g["id"]) or "",
        type=_STR(g["type"]) or "",
        body=g.get("body"),
        headers=json.loads(g["headers"]),
        received_at=float(g["received_at"]),
        timestamp=_STR(g.get("timestamp")),
        status=Status(_STR(g["status"]) or "pending"),
        attempts=int(g["attempts"]),
        next_attempt_at=_float(g.get("next_attempt_at")),
        lease_until=_float(g.get("lease_until")),
        last_error=_STR(g.get("last_error")),
        handlers_done=list(json.loads(g["handlers_done"])),
        updated_at=float(g["updated_at"]),
    )
