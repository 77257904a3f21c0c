"""Accept (and processing) cost per store: records/s, wall and CPU µs per event.

    PYTHONPATH=src python benchmarks/store_accept.py [N] [--stores redis,sqlite] [--concurrency 64] [--process]

For every reachable store (memory, SQLite, PostgreSQL, MariaDB, Redis) it
records N new events three ways: sync ``record()`` from one thread, sync
``record()`` from 16 threads (a WSGI server), and ``arecord()`` from
``--concurrency`` concurrent asyncio tasks (an ASGI server; ``asyncio.gather``
of all N, at most that many in flight), plus ``arecord()`` from one task.
``--process`` also claims and completes every recorded event, sequentially
from one thread and concurrently on the loop (``aclaim``/``acomplete`` where
the store has them, else ``asyncio.to_thread``).

CPU is this process's CPU time (every thread, the store's own included; not
the server's), divided by the number of events. Tables/keys use a throw-away
prefix and are dropped afterwards. Server URLs: HOOKINBOX_PG_URL,
HOOKINBOX_MYSQL_URL, HOOKINBOX_REDIS_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from hookinbox.events import EventRecord
from hookinbox.stores import store_from_url

BODY = b'{"id": "evt", "type": "order.created", "data": {"order_id": "ord_1", "total": "29.99"}}' * 4


def stores() -> list[tuple[str, str, dict[str, Any]]]:
    ns = "bench" + uuid.uuid4().hex[:8]
    tmp = tempfile.mkdtemp()
    return [
        ("memory", "memory://", {}),
        ("sqlite", f"sqlite:///{tmp}/bench.db", {}),
        ("postgresql", os.environ.get("HOOKINBOX_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
         {"table_prefix": ns + "_"}),
        ("mariadb", os.environ.get("HOOKINBOX_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
         {"table_prefix": ns + "_"}),
        ("redis", os.environ.get("HOOKINBOX_REDIS_URL", "redis://127.0.0.1:6379/0"), {"prefix": ns + ":"}),
    ]  # fmt: skip


def records(tag: str, n: int) -> list[EventRecord]:
    now = time.time()
    return [
        EventRecord("shop", f"{tag}-{i}", "order.created", BODY, {"content-type": "application/json"}, now)
        for i in range(n)
    ]


@contextmanager
def measured(name: str, how: str, n: int) -> Iterator[None]:
    """Print events/s, wall µs and CPU µs (all threads of this process) per event of the block."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{name:<11} {how:<32} {n / wall:>8,.0f} ev/s {wall / n * 1e6:>8.1f} µs wall {cpu / n * 1e6:>7.1f} µs CPU")


async def gather_limited(fns: list[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(fn: Callable[[], Awaitable[Any]]) -> Any:
        async with sem:
            return await fn()

    return await asyncio.gather(*(one(fn) for fn in fns))


def bench(name: str, url: str, options: dict[str, Any], n: int, concurrency: int, process: bool) -> None:
    try:
        store = store_from_url(url, **options)
        store.record(records("warm", 1)[0])
    except Exception as exc:
        print(f"{name:<11} skipped ({type(exc).__name__})")
        return
    try:
        one = records("one", n)
        with measured(name, "record() 1 thread", n):
            for r in one:
                assert store.record(r)

        recs = records("threads", n)
        with measured(name, "record() 16 threads", n), ThreadPoolExecutor(16) as pool:
            assert all(pool.map(store.record, recs))

        many = records("async", n)
        seq = records("aseq", n)

        async def accept() -> None:
            with measured(name, f"arecord() {concurrency} tasks", n):
                results = await gather_limited([lambda r=r: store.arecord(r) for r in many], concurrency)
                assert all(results)
            with measured(name, "arecord() 1 task", n):
                for r in seq:
                    assert await store.arecord(r)

        asyncio.run(accept())
        if process:
            bench_process(name, store, one, many, concurrency)
    finally:
        drop = getattr(store, "drop", None)
        if drop is not None:
            drop()
        store.close()


def bench_process(name: str, store: Any, one: list[EventRecord], many: list[EventRecord], concurrency: int) -> None:
    """Claim and complete recorded events: ``one`` sequentially (sync), ``many`` concurrently on the loop."""
    lease = 300.0
    with measured(name, "claim+complete 1 thread", len(one)):
        for r in one:
            now = time.time()
            assert store.claim(r.endpoint, r.id, now, lease) is not None
            store.complete(r.endpoint, r.id, now)

    aclaim = getattr(store, "aclaim", None)
    acomplete = getattr(store, "acomplete", None)
    if aclaim is None or acomplete is None or not store.blocking:

        async def aclaim(*args: Any) -> Any:
            return store.claim(*args) if not store.blocking else await asyncio.to_thread(store.claim, *args)

        async def acomplete(*args: Any) -> Any:
            return store.complete(*args) if not store.blocking else await asyncio.to_thread(store.complete, *args)

    async def handle(r: EventRecord) -> None:
        now = time.time()
        assert await aclaim(r.endpoint, r.id, now, lease) is not None
        await acomplete(r.endpoint, r.id, now)

    async def run() -> None:
        with measured(name, f"aclaim+acomplete {concurrency} tasks", len(many)):
            await gather_limited([lambda r=r: handle(r) for r in many], concurrency)

    asyncio.run(run())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=2000, help="events per measurement")
    parser.add_argument("--stores", default="", help="comma-separated store names (default: all)")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent asyncio tasks")
    parser.add_argument("--process", action="store_true", help="also time claim+complete")
    opts = parser.parse_args()
    wanted = {s for s in opts.stores.split(",") if s}
    for name, url, options in stores():
        if not wanted or name in wanted:
            bench(name, url, options, opts.n, opts.concurrency, opts.process)
