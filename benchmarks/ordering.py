"""What ordering by resource costs when draining a backlog: ``python benchmarks/ordering.py``.

Drains the same backlog (``--backlog`` events, default 10,000) in one process, once unordered and
once ordered by resource over ``--resources`` resources (events of one resource one at a time, in
order; docs/ordering.md), on each store of ``--stores``. Prints seconds and events/s; nothing is
written (the figures of the last run are quoted in docs/ordering.md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import keepup


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stores", default="sqlite,postgresql,redis,mariadb")
    p.add_argument("--backlog", type=int, default=10_000)
    p.add_argument("--resources", default="1000,100")
    args = p.parse_args()
    rows = []
    for store in args.stores.split(","):
        for ordered in [0, *(int(r) for r in args.resources.split(","))]:
            with tempfile.TemporaryDirectory() as tmp:
                r = keepup.drain(store, args.backlog, Path(tmp), None, ordered=ordered)
            rows.append(r)
            if "seconds" in r:
                what = f"{ordered} resources" if ordered else "unordered"
                rate = r["handled"] / r["seconds"]
                print(f"{store:<11} {what:<15} {r['seconds']:6.1f} s  {rate:7.0f} events/s  done {r['done']}")
            else:
                print(store, r)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
