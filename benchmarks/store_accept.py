"""Accept cost per store: how many new events each store records per second.

    PYTHONPATH=src python benchmarks/store_accept.py [N]

For every reachable store (memory, SQLite, PostgreSQL, MariaDB, Redis) it
records N new events three ways: sync ``record()`` from one thread, sync
``record()`` from 16 threads (a WSGI server), and ``arecord()`` from 100
concurrent asyncio tasks (an ASGI server), and prints records/s and µs per
record. Tables/keys use a throw-away prefix and are dropped afterwards.
Server URLs: HOOKINBOX_PG_URL, HOOKINBOX_MYSQL_URL, HOOKINBOX_REDIS_URL.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
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


def report(name: str, how: str, n: int, seconds: float) -> None:
    print(f"{name:<11} {how:<24} {n / seconds:>10,.0f} records/s {seconds / n * 1e6:>9.1f} µs/record")


def bench(name: str, url: str, options: dict[str, Any], n: int) -> None:
    try:
        store = store_from_url(url, **options)
        store.record(records("warm", 1)[0])
    except Exception as exc:
        print(f"{name:<11} skipped ({type(exc).__name__})")
        return
    try:
        recs = records("one", n)
        t = time.perf_counter()
        for r in recs:
            assert store.record(r)
        report(name, "record() 1 thread", n, time.perf_counter() - t)

        recs = records("threads", n)
        t = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            assert all(pool.map(store.record, recs))
        report(name, "record() 16 threads", n, time.perf_counter() - t)

        async def run() -> float:
            recs = records("async", n)
            sem = asyncio.Semaphore(100)

            async def one(r: EventRecord) -> bool:
                async with sem:
                    return await store.arecord(r)

            t = time.perf_counter()
            assert all(await asyncio.gather(*(one(r) for r in recs)))
            elapsed = time.perf_counter() - t
            aclose = getattr(store, "aclose", None)
            if aclose is not None:
                await aclose()
            return elapsed

        report(name, "arecord() 100 tasks", n, asyncio.run(run()))
    finally:
        drop = getattr(store, "drop", None)
        if drop is not None:
            drop()
        store.close()


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    for name, url, options in stores():
        bench(name, url, options, count)
