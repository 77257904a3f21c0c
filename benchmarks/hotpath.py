"""In-process CPU time of the hot path, per event, without HTTP: steadier than the HTTP runs.

    python benchmarks/hotpath.py [N] [--profile]

Feeds N distinct signed 1 KB deliveries through ``core.receive`` on an event
loop (as the ASGI middleware does), 64 at a time, letting the asyncio executor
process each batch (0 ms async handler) before the next, and reports the CPU
microseconds per event of each part, the best of five rounds (HOTPATH_BATCH=1 wakes the workers
for every event instead). ``--profile`` prints a cProfile of one round instead.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import hashlib
import hmac
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "src")]
import apps  # noqa: E402
import harness  # noqa: E402

from hookinbox.core import lower_headers_from_asgi, receive  # noqa: E402
from hookinbox.drive import run_async  # noqa: E402


def deliveries(n: int, run: str) -> list[tuple[list[tuple[bytes, bytes]], bytes]]:
    with tempfile.TemporaryDirectory() as d:
        path = harness.write_bodies(Path(d) / "b.txt", run, n)
        out = []
        for line in path.read_bytes().splitlines():
            sig, body = line.split(b" ", 1)
            headers = [
                (b"host", b"127.0.0.1"),
                (b"content-type", b"application/json"),
                (b"x-webhook-signature", sig),
                (b"content-length", b"%d" % len(body)),
            ]
            out.append((headers, body))
        return out


async def one_round(items: list[tuple[list[tuple[bytes, bytes]], bytes]]) -> tuple[float, float]:
    inbox = apps.make_inbox(asynchronous=True)
    await inbox.astartup()
    ep = inbox.endpoints["bench"]
    ex = inbox.async_executor()
    t_receive = t_process = 0.0
    batch = int(os.environ.get("HOTPATH_BATCH", "64"))
    for start in range(0, len(items), batch):  # 64 deliveries, then let the workers run, as under c=64
        t0 = time.process_time()
        for raw, body in items[start : start + batch]:
            reply = await run_async(receive(inbox, ep, lower_headers_from_asgi(raw), body, ex))
            assert reply.status == 200, reply
        t1 = time.process_time()
        while ex.pending():
            await asyncio.sleep(0)
        t_receive += t1 - t0
        t_process += time.process_time() - t1
    await inbox.ashutdown()
    return t_receive, t_process


def main() -> None:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), "20000"))
    rounds = []
    for r in range(1 if "--profile" in sys.argv else 5):
        items = deliveries(n, f"hp{r}")
        gc.collect()
        if "--profile" in sys.argv:
            prof = cProfile.Profile()
            prof.runcall(asyncio.run, one_round(items))
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            return
        rounds.append(asyncio.run(one_round(items)))
    bodies = [b for _, b in deliveries(2000, "hpx")]
    t0 = time.process_time()
    for b in bodies:
        json.loads(b)
    parse = (time.process_time() - t0) / len(bodies)
    t0 = time.process_time()
    for b in bodies:
        hmac.new(b"bench-secret", b, hashlib.sha256).digest()
    mac = (time.process_time() - t0) / len(bodies)
    total = min(a + b for a, b in rounds)
    print(
        f"receive (ack path), per event: {min(a for a, _ in rounds) / n * 1e6:6.1f} us  "
        f"(of which json.loads {parse * 1e6:.1f} us, HMAC {mac * 1e6:.1f} us)"
    )
    print(f"processing (claim, handler, complete), per event: {min(b for _, b in rounds) / n * 1e6:6.1f} us")
    print(f"total per event: {total / n * 1e6:6.1f} us")


if __name__ == "__main__":
    main()
