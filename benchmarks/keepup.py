"""Does processing keep up with acking?  Acked/s, handled/s, 503s, ack latency, and backlog drain time.

    python benchmarks/keepup.py                 # the whole table (about 8 minutes); never in CI
    python benchmarks/keepup.py --quick         # one cell and a small backlog: a smoke test

Two measurements, written between the ``keepup`` markers of docs/benchmarks.md:

1. **Sustained intake.** Per cell (host, store, handler kind), a fresh server pinned to one core, wrk
   on the other, ``--conc`` keep-alive connections for ``--duration`` seconds of distinct 1 KB signed
   events. In the same server the host's bare route (``/bare``) is driven too, bare then hookinbox,
   so both see the same machine. Only 2xx count as acked. Handled events are read from a file the
   server's handler counter rewrites every 0.1 s: ``handled/s`` is what the handlers ran during the
   load, ``behind`` how many acked events were still unhandled when the load stopped, and
   ``caught up`` how long after the load every acked event had been handled.
2. **Backlog drain.** ``--backlog`` pending events are written to a fresh store (as a previous process
   would leave them), then one process (pinned to one core) starts an inbox with a no-op ``def``
   handler; the time from ``startup()`` until all are ``done``.

The "serve" host is uvicorn (uvloop, httptools, no access log) serving ``WebhookMiddleware`` over a
raw ASGI callable, which is what ``hookinbox serve`` runs; its bare route is that raw callable, the
strictest ceiling. Starlette, FastAPI (uvicorn) and Flask (gunicorn ``-w 1 -k gthread --threads 8``)
have their own bare routes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
import run as runmod

HOST_OF = {"serve": "raw", "starlette": "starlette", "fastapi": "fastapi", "flask": "flask"}
DEFAULT_CELLS = (
    "serve:memory:async,serve:memory:def,serve:sqlite:def,serve:sqlite:async,serve:postgresql:def,"
    "serve:redis:def,starlette:memory:def,fastapi:memory:def,fastapi:redis:def,flask:memory:def,flask:sqlite:def"
)
START, END = "<!-- keepup:start -->", "<!-- keepup:end -->"


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


def intake(cell: str, args: argparse.Namespace, tmp: Path, pins: tuple[str, str] | None) -> dict[str, Any]:
    host, store, kind = cell.split(":")
    found = runmod.store_env(store, tmp)
    if found is None:
        return {"cell": cell, "note": "store unavailable"}
    env, url, options = found
    handled_file = tmp / f"handled-{uuid.uuid4().hex[:6]}"
    env.update(BENCH_HANDLER=kind, BENCH_HANDLED_FILE=str(handled_file))
    server_core, load_core = pins if pins else (None, None)
    srv = harness.start_server(HOST_OF[host], env, server_core, tmp / "server.log")
    out: dict[str, Any] = {"cell": cell, "rounds": []}
    try:
        warm = harness.write_bodies(tmp / "warm.txt", "w" + uuid.uuid4().hex[:4], 2000)
        rate = max(2000.0, srv.load("/bare", warm, args.conc, 1, load_core)["rps"])
        warm_hook = srv.load(
            "/hook",
            harness.write_bodies(tmp / "hw.txt", uuid.uuid4().hex[:8], int(rate * 2) + 2000),
            args.conc,
            1,
            load_core,
        )
        rate = max(rate, warm_hook["rps"])
        for _ in range(args.rounds):
            bare = srv.load("/bare", warm, args.conc, args.duration, load_core)
            rate = max(rate, bare["rps"])
            before = _read_int(handled_file)
            bodies = harness.write_bodies(  # fresh ids for twice the best rate seen: no id sent twice
                tmp / "hook.txt", uuid.uuid4().hex[:8], int(rate * 2 * args.duration) + 5000
            )
            hook = srv.load("/hook", bodies, args.conc, args.duration, load_core)
            rate = max(rate, hook["rps"])
            seconds = hook["duration_us"] / 1e6
            acked = hook["requests"] - hook["non2xx"]
            handled_during = _read_int(handled_file) - before
            t0 = time.monotonic()
            while _read_int(handled_file) - before < acked and time.monotonic() - t0 < args.catch_up:
                time.sleep(0.1)
            caught = time.monotonic() - t0
            total = _read_int(handled_file) - before
            out["rounds"].append(
                {
                    "bare_rps": bare["rps"],
                    "acked_rps": acked / seconds,
                    "handled_rps": handled_during / seconds,
                    "refused": hook["non2xx"],
                    "p50_ms": hook["p50_us"] / 1000,
                    "p99_ms": hook["p99_us"] / 1000,
                    "behind": max(0, acked - handled_during),
                    "caught_up_s": caught if total >= acked else None,
                    "unhandled": max(0, acked - total),
                    "wraps": hook.get("wraps", 0),
                }
            )
    finally:
        srv.stop()
        runmod.drop_store(url, options)
    return out


def drain(store: str, n: int, tmp: Path, pins: tuple[str, str] | None, ordered: int = 0) -> dict[str, Any]:
    """Seconds for one process to handle ``n`` pending events left in ``store``; with ``ordered``, the
    endpoint orders by resource and the events belong to that many resources (benchmarks/ordering.py)."""
    sys.path.insert(0, str(harness.ROOT / "src"))
    from hookinbox.events import EventRecord
    from hookinbox.inbox import Inbox

    found = runmod.store_env(store, tmp)
    if found is None:
        return {"store": store, "note": "store unavailable"}
    _, url, options = found
    cfg = {
        "hookinbox": {"store": url, "store_options": options, "recover_after": "1h"},
        "endpoints": {"bench": {"path": "/hook", "preset": "nimbus-orders", "secret": harness.SECRET}},
    }
    if ordered:
        cfg["endpoints"]["bench"].update(order_by="data.rid", order_seq="data.seq")
    left = Inbox.from_settings(cfg)
    now = time.time() - 3600
    body = b'{"id": "x", "type": "order.created", "data": {"pad": "' + b"x" * 900 + b'"}}'
    records = [EventRecord("bench", f"b{i}", "order.created", body, {}, now) for i in range(n)]
    if ordered:  # what receive would have read from the body; the handler does not look
        for i, r in enumerate(records):
            r.order_key, r.order_seq = f"r{i % ordered}", float(i)
    with ThreadPoolExecutor(64) as pool:
        list(pool.map(left.store.record, records))
    left.close()
    count = [0]
    lock = threading.Lock()
    inbox = Inbox.from_settings(cfg)

    def noop(event: Any) -> None:
        with lock:
            count[0] += 1

    inbox.add_handler(noop, "*")
    if pins:
        os.sched_setaffinity(0, {int(pins[0])})
    try:
        t0 = time.monotonic()
        inbox.startup()
        while count[0] < n and time.monotonic() - t0 < 300:
            time.sleep(0.02)
        seconds = time.monotonic() - t0
        done = inbox.store.stats().get("bench", {}).get("done", 0)
    finally:
        if pins:
            os.sched_setaffinity(0, {int(pins[1])})
        inbox.close()
        runmod.drop_store(url, options)
    return {"store": store, "events": n, "seconds": seconds, "handled": count[0], "done": done, "ordered": ordered}


def _median(rounds: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rounds if r.get(key) is not None]
    return statistics.median(values) if values else None


def render(meta: dict[str, Any], cells: list[dict[str, Any]], drains: list[dict[str, Any]]) -> str:
    lines = [
        START,
        f"Run {meta['date']}: `{meta['command']}`; {meta['machine']}; {meta['pinned']}; load: {meta['loadgen']}; "
        f"c={meta['conc']}, {meta['duration']} s per run, {meta['rounds']} round(s), medians.",
        "",
        "| cell (host:store:handler) | bare route req/s | acked/s | ratio | handled/s (during) | handled/acked "
        "| 503s | p50 ms | p99 ms | all handled after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        if c.get("note"):
            lines.append(f"| {c['cell']} | {c['note']} |||||||||")
            continue
        r = c["rounds"]
        bare, acked, handled = _median(r, "bare_rps"), _median(r, "acked_rps"), _median(r, "handled_rps")
        caught = [x["caught_up_s"] for x in r]
        after = "never (see note)" if any(v is None for v in caught) else f"{max(caught):.1f} s"
        if any(x["wraps"] for x in r):
            after += " (ids repeated: invalid)"
        lines.append(
            f"| {c['cell']} | {bare:,.0f} | {acked:,.0f} | {acked / bare:.2f} | {handled:,.0f} | "
            f"{handled / acked if acked else 0:.2f} | {sum(x['refused'] for x in r):,} | {_median(r, 'p50_ms'):.1f} | "
            f"{_median(r, 'p99_ms'):.1f} | {after} |"
        )
    lines += [
        "",
        "| backlog drain (one process, no-op `def` handler) | events | seconds | events/s |",
        "|---|---|---|---|",
    ]
    for d in drains:
        if d.get("note"):
            lines.append(f"| {d['store']} | {d['note']} |||")
        else:
            lines.append(
                f"| {d['store']} | {d['events']:,} (done {d['done']:,}) | {d['seconds']:.1f} | "
                f"{d['events'] / d['seconds']:,.0f} |"
            )
    lines.append(END)
    return "\n".join(lines)


def write(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        text = text[: text.index(START)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n## Keeping up: handled vs acked, backlog drain\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--cells", default=DEFAULT_CELLS)
    p.add_argument("--drain-stores", default="sqlite,postgresql,redis,mariadb")
    p.add_argument("--backlog", type=int, default=10_000)
    p.add_argument("--conc", type=int, default=64)
    p.add_argument("--duration", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--catch-up", type=float, default=60.0, help="seconds to wait for the handlers after a run")
    p.add_argument("--output", default=str(harness.ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--json", help="also write the raw numbers here")
    args = p.parse_args(argv)
    if args.quick:
        args.cells, args.drain_stores, args.backlog, args.duration, args.rounds = (
            "serve:memory:def",
            "sqlite",
            500,
            1,
            1,
        )
    pins = harness.cores()
    if pins:
        os.sched_setaffinity(0, {int(pins[1])})
    started = time.time()
    cells, drains = [], []
    with tempfile.TemporaryDirectory(prefix="hookinbox-keepup-") as d:
        tmp = Path(d)
        for cell in [c for c in args.cells.split(",") if c]:
            print(f"intake {cell}", flush=True)
            try:
                cells.append(intake(cell, args, tmp, pins))
            except (RuntimeError, OSError) as exc:
                cells.append({"cell": cell, "note": f"failed: {exc}"[:200]})
            print("   ", json.dumps(cells[-1].get("rounds", cells[-1].get("note"))), flush=True)
        for store in [s for s in args.drain_stores.split(",") if s]:
            print(f"drain {store} {args.backlog}", flush=True)
            drains.append(drain(store, args.backlog, tmp, pins))
            print("   ", json.dumps(drains[-1]), flush=True)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "command": "python benchmarks/keepup.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": runmod.report.machine(),
        "pinned": f"server on CPU {pins[0]}, load on CPU {pins[1]}" if pins else "not pinned",
        "loadgen": "wrk" if harness.have_wrk() else "benchmarks/pyload.py",
        "conc": args.conc,
        "duration": args.duration,
        "rounds": args.rounds,
    }
    block = render(meta, cells, drains)
    write(Path(args.output), block)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "cells": cells, "drains": drains}))
    print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
