"""A small closed-loop HTTP/1.1 load generator, used when ``wrk`` is not installed.

``python benchmarks/pyload.py HOST PORT PATH BODIES CONNECTIONS SECONDS`` keeps
CONNECTIONS keep-alive connections busy for SECONDS, sending the pre-signed
lines of BODIES (``<signature> <body>``) in turn, and prints the same
``BENCHJSON {...}`` line as ``post.lua``. It is slower than wrk (it is Python):
its numbers are for smoke tests, not for the table.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time


def load_requests(host: str, path: str, bodies: str, header: str) -> list[bytes]:
    out = []
    with open(bodies, "rb") as f:
        for line in f:
            sig, _, body = line.rstrip(b"\n").partition(b" ")
            head = (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"{header}: {sig.decode()}\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            out.append(head.encode() + body)
    return out


async def worker(
    host: str, port: int, reqs: list[bytes], start: int, stride: int, deadline: float, stats: dict
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = start
    try:
        while time.perf_counter() < deadline:
            req = reqs[i % len(reqs)]
            if i >= len(reqs) and (i - stride) < len(reqs):
                stats["wraps"] += 1
            i += stride
            t0 = time.perf_counter()
            writer.write(req)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            stats["lat"].append(time.perf_counter() - t0)
            if not status_line.split(b" ")[1].startswith(b"2"):
                stats["non2xx"] += 1
    except (OSError, asyncio.IncompleteReadError, IndexError):
        stats["read_errors"] += 1
    finally:
        writer.close()


async def main(host: str, port: int, path: str, bodies: str, conns: int, seconds: float) -> None:
    reqs = load_requests(host, path, bodies, os.environ.get("BENCH_HEADER", "X-Webhook-Signature"))
    stats: dict = {"lat": [], "non2xx": 0, "read_errors": 0, "wraps": 0}
    t0 = time.perf_counter()
    deadline = t0 + seconds
    await asyncio.gather(*(worker(host, port, reqs, k, conns, deadline, stats) for k in range(conns)))
    elapsed = time.perf_counter() - t0
    lat = sorted(stats["lat"]) or [0.0]

    def pct(p: float) -> int:
        return int(lat[min(len(lat) - 1, int(len(lat) * p / 100))] * 1e6)

    out = {
        "requests": len(stats["lat"]),
        "duration_us": int(elapsed * 1e6),
        "non2xx": stats["non2xx"],
        "connect_errors": 0,
        "read_errors": stats["read_errors"],
        "write_errors": 0,
        "timeouts": 0,
        "p50_us": pct(50),
        "p90_us": pct(90),
        "p99_us": pct(99),
        "max_us": int(lat[-1] * 1e6),
        "mean_us": sum(lat) / len(lat) * 1e6,
        "wraps": stats["wraps"],
    }
    print("BENCHJSON " + json.dumps(out), flush=True)


if __name__ == "__main__":
    h, p, path, bodies, c, s = sys.argv[1:7]
    asyncio.run(main(h, int(p), path, bodies, int(c), float(s)))
