"""Ack latency and throughput of hookinbox against a bare route, per server and store.

    python benchmarks/run.py            # the full run (about 20 minutes); never in CI
    python benchmarks/run.py --quick    # a few seconds: one tiny configuration (smoke test)

Each cell (host, store, handler duration, concurrency) gets a fresh server,
pinned to one core, with the load generator (wrk) pinned to the other. In the
same server, a bare route that only returns 200 and the hookinbox endpoint are
driven alternately (bare, hookinbox, hookinbox, bare), so both see the same
machine noise. Every hookinbox request carries a 1 KB body with its own event
id, HMAC-SHA256 signed beforehand, so each request is verified, parsed,
recorded and queued for real. The results replace the part of the output file
between the ``results`` markers (the rest is prose and is kept).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import socket
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
import report

STORES = ("memory", "sqlite", "redis", "postgresql")


@dataclass
class Cell:
    host: str
    store: str
    delay: float
    conc: int
    bare: list[dict[str, float]] = field(default_factory=list)
    hook: list[dict[str, float]] = field(default_factory=list)
    rss_kb: int = 0
    note: str = ""
    #: queue_size (and room in the memory store) for this cell; None keeps hookinbox's defaults
    queue: int | None = None


def store_env(store: str, tmp: Path) -> tuple[dict[str, str], str, dict[str, str]] | None:
    """(app environment, URL, options) of ``store`` on a namespace of its own; None when unavailable."""
    ns = "bench" + uuid.uuid4().hex[:8]
    if store == "memory":
        return {"BENCH_STORE": "memory://"}, "memory://", {}
    sys.path.insert(0, str(harness.ROOT / "src"))
    module = "hookinbox.stores.redis" if store == "redis" else "hookinbox.stores.sql"
    if importlib.util.find_spec(module) is None:
        return None
    urls = {
        "sqlite": (f"sqlite:///{tmp / (ns + '.db')}", None, {}),
        "postgresql": (
            os.environ.get("HOOKINBOX_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
            5432,
            {"table_prefix": ns + "_"},
        ),
        "mariadb": (
            os.environ.get("HOOKINBOX_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
            3306,
            {"table_prefix": ns + "_"},
        ),
        "redis": (os.environ.get("HOOKINBOX_REDIS_URL", "redis://127.0.0.1:6379/0"), 6379, {"prefix": ns + ":"}),
    }
    url, port, options = urls[store]
    if port is not None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return None
    return {"BENCH_STORE": url, "BENCH_STORE_OPTIONS": json.dumps(options)}, url, options


def drop_store(url: str, options: dict[str, str]) -> None:
    """Remove the tables or keys a cell's store created (its own prefix only)."""
    if url.startswith("memory"):
        return
    from hookinbox.stores import store_from_url

    store = store_from_url(url, **options)
    try:
        store.drop()  # type: ignore[attr-defined]
    finally:
        store.close()


def run_cell(cell: Cell, args: argparse.Namespace, tmp: Path, pins: tuple[str, str] | None) -> None:
    found = store_env(cell.store, tmp)
    if found is None:
        cell.note = "store unavailable"
        return
    env, url, options = found
    env["BENCH_HANDLER_DELAY"] = str(cell.delay)
    if cell.queue:  # room for every event of the run: all acked, none refused with 503
        env["BENCH_QUEUE_SIZE"] = str(cell.queue)
        env["BENCH_MAX_EVENTS"] = str(cell.queue * 10)
    server_core, load_core = pins if pins else (None, None)
    srv = harness.start_server(cell.host, env, server_core, tmp / "server.log")
    try:
        warm_bodies = harness.write_bodies(tmp / "warm.txt", "warm" + uuid.uuid4().hex[:4], 2000)
        rate = 2000.0
        if args.warmup:
            rate = max(rate, srv.load("/bare", warm_bodies, cell.conc, args.warmup, load_core)["rps"])

        def hook() -> dict[str, float]:
            n = int(rate * 2 * args.duration) + 2000
            bodies = harness.write_bodies(tmp / "hook.txt", uuid.uuid4().hex[:8], n)
            return srv.load("/hook", bodies, cell.conc, args.duration, load_core)

        def bare() -> dict[str, float]:
            nonlocal rate
            out = srv.load("/bare", warm_bodies, cell.conc, args.duration, load_core)
            rate = max(rate, out["rps"])  # sizes the next hookinbox run's supply of fresh ids
            return out

        if args.warmup:
            n = int(rate * 2 * args.warmup) + 2000
            srv.load(
                "/hook",
                harness.write_bodies(tmp / "hook.txt", uuid.uuid4().hex[:8], n),
                cell.conc,
                args.warmup,
                load_core,
            )
        for r in range(args.rounds):  # ABBA: bare, hook, hook, bare
            if r % 2 == 0:
                cell.bare.append(bare())
                cell.hook.append(hook())
            else:
                cell.hook.append(hook())
                cell.bare.append(bare())
        cell.rss_kb = srv.rss_kb()
    finally:
        srv.stop()
        drop_store(url, options)


def flood(args: argparse.Namespace, tmp: Path, pins: tuple[str, str] | None, delay: float, seconds: int) -> dict:
    """Distinct events for ``seconds`` with default settings; RSS sampled every second."""
    gc_log = tmp / f"gc-flood-{delay:g}.json"
    env = {"BENCH_STORE": "memory://", "BENCH_HANDLER_DELAY": str(delay), "BENCH_GC_LOG": str(gc_log)}
    server_core, load_core = pins if pins else (None, None)
    srv = harness.start_server(args.flood_host, env, server_core, tmp / "server.log")
    samples: list[tuple[float, int]] = []
    segments: list[dict[str, float]] = []
    stop = threading.Event()
    t0 = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.monotonic() - t0, srv.rss_kb()))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        rate = srv.load("/bare", harness.write_bodies(tmp / "warm.txt", "floodw", 2000), 64, 1, load_core)["rps"]
        seg = 10
        left = seconds
        while left > 0:  # 10 s segments, each with fresh ids (signing them takes ~1 s between segments)
            n = int(rate * 1.5 * min(seg, left)) + 2000
            bodies = harness.write_bodies(tmp / "flood.txt", uuid.uuid4().hex[:8], n)
            if not sampler.is_alive():
                t0 = time.monotonic()
                sampler.start()
            segments.append(srv.load("/hook", bodies, 64, min(seg, left), load_core))
            rate = max(rate / 1.5, segments[-1]["rps"])
            left -= seg
    finally:
        stop.set()
        if sampler.is_alive():
            sampler.join()
        srv.stop()
    gc_stats = json.loads(gc_log.read_text()) if gc_log.exists() else {}
    return {"delay": delay, "seconds": seconds, "samples": samples, "segments": segments, "gc": gc_stats}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one tiny configuration, a few seconds (smoke test)")
    p.add_argument("--hosts", default="raw,starlette,fastapi,flask")
    p.add_argument("--stores", default=",".join(STORES))
    p.add_argument("--store-hosts", default="starlette,fastapi,flask", help="hosts measured with the durable stores")
    p.add_argument("--concurrency", default="1,16,64")
    p.add_argument("--delays", default="0,2", help="handler durations in seconds")
    p.add_argument("--duration", type=int, default=3, help="seconds per measured run")
    p.add_argument("--rounds", type=int, default=2, help="bare/hookinbox pairs per cell (ABBA order)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument(
        "--backlog",
        type=int,
        default=100_000,
        help="queue_size of the extra 2 s-handler cell that keeps every event in memory (0: skip it)",
    )
    p.add_argument("--flood-seconds", type=int, default=60, help="0 to skip the memory flood")
    p.add_argument("--flood-host", default="starlette")
    p.add_argument("--output", default=str(harness.ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--json", help="also write the raw numbers here")
    args = p.parse_args(argv)
    if args.quick:
        args.hosts, args.stores, args.concurrency, args.delays = "raw", "memory", "16", "0"
        args.duration, args.rounds, args.warmup, args.flood_seconds = 1, 1, 0, 0
    pins = harness.cores()
    if pins:
        os.sched_setaffinity(0, {int(pins[1])})  # this script (and body generation) on the load core
    conc = [int(c) for c in args.concurrency.split(",")]
    delays = [float(d) for d in args.delays.split(",")]
    stores = [s for s in args.stores.split(",") if s]
    cells: list[Cell] = []
    for store in stores:
        hosts = args.hosts.split(",") if store == "memory" else [h for h in args.store_hosts.split(",")]
        for host in hosts:
            for delay in delays:
                for c in conc:
                    cells.append(Cell(host, store, delay, c))
    if args.backlog and "memory" in stores and 2.0 in delays and 64 in conc:
        for host in args.hosts.split(","):
            if harness.HOSTS[host][0] == "uvicorn":
                cells.append(Cell(host, "memory", 2.0, 64, queue=args.backlog))
                break
    started = time.time()
    floods = []
    with tempfile.TemporaryDirectory(prefix="hookinbox-bench-") as d:
        tmp = Path(d)
        for i, cell in enumerate(cells, 1):
            print(f"[{i}/{len(cells)}] {cell.host} {cell.store} handler={cell.delay:g}s c={cell.conc}", flush=True)
            try:
                run_cell(cell, args, tmp, pins)
            except (RuntimeError, OSError) as exc:
                cell.note = f"failed: {exc}"[:200]
            print("    " + report.cell_line(cell), flush=True)
        if args.flood_seconds:
            for delay in (0.0, 2.0):
                print(f"flood: {args.flood_host} memory handler={delay:g}s {args.flood_seconds}s", flush=True)
                floods.append(flood(args, tmp, pins, delay, args.flood_seconds))
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "elapsed_s": round(time.time() - started),
        "command": "python benchmarks/run.py "
        + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
        "machine": report.machine(),
        "pinned": f"server on CPU {pins[0]}, load generator on CPU {pins[1]}" if pins else "not pinned",
        "loadgen": "wrk (closed loop, 1 thread, keep-alive)" if harness.have_wrk() else "benchmarks/pyload.py (Python)",
        "duration": args.duration,
        "rounds": args.rounds,
    }
    text = report.render(meta, cells, floods)
    report.write(Path(args.output), text)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "cells": [asdict(c) for c in cells], "floods": floods}))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
