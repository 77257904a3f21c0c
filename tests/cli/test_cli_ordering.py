"""Ordering by resource across two real processes: two ``hookinbox serve`` on one durable store.

Thirty Stripe events of three customers, each customer's events created a second apart, are
delivered in a shuffled order, concurrently, each to one of the two servers at random. The handler
(in both processes) takes a per-customer lock file: finding it taken means two events of one
resource ran at once. Afterwards every event is ``done`` (handled once) or ``stale`` (not run), and
the handled ones of each customer went up in time.
"""

from __future__ import annotations

import json
import random
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hookinbox.events import Status
from hookinbox.settings import Settings
from hookinbox.stores import store_from_url
from hookinbox.testing import signed_delivery
from tests.cli.cli_helpers import Server
from tests.toolkit import wait_for

SECRET = "whsec_two_process_ordering"

HANDLER = """
import json, os, time

LOG = {log!r}
LOCKS = {locks!r}


def apply(event):
    key = event.data["id"]
    lock = os.path.join(LOCKS, key)
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        overlap = False
    except FileExistsError:
        overlap = True
    line = [os.getpid(), key, event.id, event.payload["created"], event.stale, overlap]
    with open(LOG, "a") as f:
        f.write(json.dumps(line) + "\\n")
    time.sleep(0.02)
    if not overlap:
        os.unlink(lock)
"""


def _toml(url: str, options: dict[str, Any]) -> str:
    opts = ", ".join(f"{k} = {json.dumps(v)}" for k, v in options.items())
    return "\n".join(
        [
            "[hookinbox]",
            f"store = {json.dumps(url)}",
            f"store_options = {{ {opts} }}",
            'sweep_interval = "1s"',
            'recover_after = "2s"',
            "[endpoints.stripe]",
            'path = "/stripe"',
            'preset = "stripe"',
            f'secret = "{SECRET}"',
            'order_by = "data.object.id"',
            'handlers = { "*" = "order_handlers:apply" }',
        ]
    )


@pytest.mark.slow
@pytest.mark.parametrize("store_url", ["sqlite", "postgresql", "mariadb", "redis"], indirect=True)
def test_two_servers_handle_each_resource_in_order(tmp_path: Path, store_url: tuple[str, dict[str, Any]]) -> None:
    url, options = store_url
    log, locks = tmp_path / "handled.jsonl", tmp_path / "locks"
    locks.mkdir()
    servers = []
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir()
        (d / "order_handlers.py").write_text(HANDLER.format(log=str(log), locks=str(locks)))
        (d / "hookinbox.toml").write_text(_toml(url, options))
        servers.append(d)
    settings = Settings.from_file(servers[0] / "hookinbox.toml", env={})
    a, b = (Server(d) for d in servers)
    try:
        rng = random.Random(18)
        events = [
            {
                "id": f"evt_{cus}_{n:02d}",
                "type": "customer.updated",
                "created": 1_765_000_000 + n,
                "data": {"object": {"id": cus, "n": n}},
            }
            for cus in ("cus_a", "cus_b", "cus_c")
            for n in range(10)
        ]
        rng.shuffle(events)

        def deliver(body: dict[str, Any]) -> int:
            d = signed_delivery("stripe", body, settings=settings)
            target = rng.choice((a, b))
            req = urllib.request.Request(target.url + d.path, data=d.body, headers=d.headers, method="POST")
            with urllib.request.urlopen(req, timeout=10) as r:
                return int(r.status)

        with ThreadPoolExecutor(6) as pool:
            assert set(pool.map(deliver, events)) == {200}

        store = store_from_url(url, **options)
        try:

            def finished() -> dict[str, Status] | None:
                got = {e["id"]: store.get("stripe", e["id"]) for e in events}
                states = {i: r.status for i, r in got.items() if r is not None}
                ok = len(states) == len(events) and set(states.values()) <= {Status.DONE, Status.STALE}
                return states if ok else None

            states = wait_for(finished, timeout=60, what="every event done or stale")
        finally:
            store.close()
    finally:
        a.stop()
        b.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [x for x in lines if x[5]] == []  # never two events of one customer at once
    handled_ids = [x[2] for x in lines]
    assert sorted(handled_ids) == sorted(i for i, s in states.items() if s is Status.DONE)  # each once
    for cus in ("cus_a", "cus_b", "cus_c"):
        times = [x[3] for x in lines if x[1] == cus]
        assert times == sorted(set(times)), (cus, times)  # went up in time
    assert not any(x[4] for x in lines)  # on_stale = "skip": stale ones never ran
    pids = {x[0] for x in lines}
    print(f"handled {len(lines)}, stale {len(events) - len(lines)}, by {len(pids)} process(es)")
