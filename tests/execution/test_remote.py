"""Celery and RQ executors: real brokers, real worker and web processes, one shared store."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from execution_helpers import PATH, delivery, settings
from tests.toolkit import wait_for

from hookinbox import ConfigurationError, Inbox, Status

SRC = str(Path(__file__).resolve().parents[2] / "src")
HERE = str(Path(__file__).resolve().parent)
ROOT = str(Path(__file__).resolve().parents[2])  # execution_helpers imports tests.toolkit


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("kind", ["celery", "rq"])
def test_remote_executor_refuses_the_memory_store_clearly(kind: str) -> None:
    """A remote executor with the memory store is a configuration error that names the store and the fix."""
    ib = Inbox.from_settings(settings(executor=kind))
    with pytest.raises(ConfigurationError) as err:
        ib.sync_executor()
    msg = str(err.value)
    assert "hookinbox.store" in msg and "memory store" in msg and kind in msg and "postgresql" in msg


def test_unknown_executor_names_the_choices() -> None:
    """An executor name that does not exist is refused, when the settings are read, with the valid ones."""
    with pytest.raises(
        ConfigurationError, match=r"unknown executor 'dramatiq' \(one of asyncio, auto, celery, rq, thread, threads\)"
    ):
        Inbox.from_settings(settings(executor="dramatiq")).sync_executor()


@pytest.mark.parametrize("kind", ["celery", "rq"])
def test_unknown_executor_options_are_refused_with_their_key(kind: str) -> None:
    """A typo in executor_options is a configuration error naming the key, not silently ignored."""
    import importlib

    cls = getattr(
        importlib.import_module(f"hookinbox.executors.{kind}"), {"celery": "CeleryExecutor", "rq": "RQExecutor"}[kind]
    )
    ib = Inbox.from_settings(settings(executor=kind, executor_options={"queue": "q", "brokr": "amqp://x"}))
    with pytest.raises(ConfigurationError, match=r"executor_options\.brokr: unknown option"):
        cls.from_runtime(ib.runtime)


def test_celery_submit_with_the_broker_down_returns_false() -> None:
    """With RabbitMQ unreachable the Celery executor refuses (the event stays pending) instead of raising."""
    from hookinbox.executors.celery import CeleryExecutor, make_app

    app = make_app(f"amqp://guest:guest@127.0.0.1:{closed_port()}//", queue="nowhere", worker=False)
    ex = CeleryExecutor(app, queue="nowhere")
    assert ex.submit("generic", "evt_1") is False
    ex.shutdown()


def test_rq_submit_with_redis_down_returns_false() -> None:
    """With Redis unreachable the RQ executor refuses (the event stays pending) instead of raising."""
    from hookinbox.executors.rq import RQExecutor

    ib = Inbox.from_settings(
        settings(executor="rq", executor_options={"redis": f"redis://127.0.0.1:{closed_port()}/0"})
    )
    assert RQExecutor.from_runtime(ib.runtime).submit("generic", "evt_1") is False


def test_rq_executor_needs_a_redis_url_unless_the_store_is_redis(sqlite_store: str) -> None:
    """executor = "rq" over a SQL store without executor_options.redis names the missing option."""
    with pytest.raises(ConfigurationError, match=r"executor_options\.redis"):
        Inbox.from_settings(settings(sqlite_store, executor="rq")).sync_executor()


def test_rq_executor_enqueues_the_event_key_only(redis_url: str, namespace: str) -> None:
    """The RQ job carries (endpoint, event_id) for the worker's process_event, with the lease as its timeout."""
    import redis
    import rq

    from hookinbox.executors.rq import JOB, RQExecutor

    queue = rq.Queue(namespace, connection=redis.Redis.from_url(redis_url))
    try:
        assert RQExecutor(queue, job_timeout=42).submit("generic", "evt_9") is True
        (job,) = queue.get_jobs()
        assert job.func_name == JOB and job.args == ("generic", "evt_9") and job.timeout == 42
    finally:
        queue.delete(delete_jobs=True)


# -- end to end: two web processes, one worker --------------------------------------------------

APP = textwrap.dedent(
    """
    import json, os, time
    import redis
    from hookinbox import Inbox
    from hookinbox.asgi import WebhookMiddleware
    from execution_helpers import settings

    cfg = json.loads(os.environ["E2E"])
    ns = cfg["ns"]
    inbox = Inbox.from_settings(settings(
        cfg["store"], store_options=cfg["store_options"], executor=cfg["executor"],
        executor_options=cfg["executor_options"], sweep_interval="100ms", recover_after="30s",
        endpoint=cfg.get("endpoint"),
    ))
    r = redis.Redis.from_url(cfg["redis"])

    @inbox.on("*")
    def handle(event):
        if "rid" in event.data:  # ordered by resource: note the order, and any overlap within a resource
            rid = event.data["rid"]
            if not r.set(ns + ":lock:" + rid, event.id, nx=True):
                r.rpush(ns + ":overlap", event.id)
            r.rpush(ns + ":order:" + rid, event.data["seq"])
            time.sleep(0.005)
            r.delete(ns + ":lock:" + rid)
        r.hincrby(ns + ":calls", event.id, 1)
        if event.type == "order.flaky" and event.attempt == 1:
            raise RuntimeError("first attempt fails")
        r.hincrby(ns + ":handled", event.id, 1)
        r.hset(ns + ":pid", event.id, os.getpid())

    app = WebhookMiddleware(None, inbox)
    """
)


def free_port() -> int:
    return closed_port()


class Processes:
    """Subprocesses whose output goes to files (a pipe nobody reads would fill up and stall them)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
        with (self.logs / f"proc{len(self.procs)}.log").open("wb") as out:
            p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def output(self, i: int) -> str:
        return (self.logs / f"proc{i}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> str:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return "\n".join(self.output(i) for i in range(len(self.procs)))


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    yield procs
    procs.stop()


def wait_listening(port: int, proc: subprocess.Popen[bytes], processes: Processes) -> None:
    def up() -> bool:
        assert proc.poll() is None, processes.output(processes.procs.index(proc))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_for(up, 20, f"a web process on port {port}")


def worker_alive(proc: subprocess.Popen[bytes], processes: Processes) -> None:
    if proc.poll() is not None:
        pytest.fail(f"the worker exited: {processes.output(processes.procs.index(proc))}")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["celery", "rq"])
def test_two_web_processes_and_one_worker_handle_each_distinct_event_once(
    kind: str,
    request: pytest.FixtureRequest,
    shared_store: tuple[str, dict[str, Any]],
    namespace: str,
    processes: Processes,
    tmp_path: Path,
) -> None:
    """1,000 deliveries (30% duplicates) over two uvicorn processes; the worker handles each distinct event once."""
    import redis

    store_url, store_options = shared_store
    redis_url = request.getfixturevalue("redis_url")
    if kind == "celery":
        amqp = request.getfixturevalue("amqp_url")
        executor_options: dict[str, Any] = {"broker": amqp, "queue": namespace}
        worker_cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "hookinbox.executors.celery",
            "worker",
            "--pool=threads",
            "--concurrency=2",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{namespace}@%h",  # a node name of its own: another worker on this broker must not collide
        ]
    else:
        executor_options = {"redis": redis_url, "queue": namespace}
        worker_cmd = [
            sys.executable,
            "-c",
            "import redis, sys; from hookinbox.executors.rq import Worker; "
            f"Worker([{namespace!r}], connection=redis.Redis.from_url({redis_url!r})).work()",
        ]
    (tmp_path / "hookapp.py").write_text(APP)
    cfg = {
        "ns": namespace,
        "store": store_url,
        "store_options": store_options,
        "executor": kind,
        "executor_options": executor_options,
        "redis": redis_url,
    }
    env = {
        **os.environ,
        "E2E": json.dumps(cfg),
        "HOOKINBOX_INBOX": "hookapp:inbox",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), SRC, HERE, ROOT]),
    }
    ports = [free_port(), free_port()]
    for port in ports:
        p = processes.start(
            [sys.executable, "-m", "uvicorn", "hookapp:app", "--port", str(port), "--log-level", "warning"],
            env,
            tmp_path,
        )
        wait_listening(port, p, processes)
    r = redis.Redis.from_url(redis_url)
    try:
        distinct = [f"{namespace}-{i}" for i in range(700)]
        rng = random.Random(4)
        deliveries = distinct + [rng.choice(distinct) for _ in range(300)]
        rng.shuffle(deliveries)
        flaky = set(distinct[:10])

        def send(job: tuple[int, str]) -> Any:
            n, event_id = job
            body, headers = delivery(event_id, "order.flaky" if event_id in flaky else "order.created")
            resp = clients[n % 2].post(PATH, content=body, headers=headers)
            return resp.status_code, resp.json()

        with (
            httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=10) as c0,
            httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=10) as c1,
        ):
            clients = [c0, c1]
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(send, enumerate(deliveries)))
        assert Counter(status for status, _ in answers) == {200: 1000}
        assert sum(1 for _, body in answers if body.get("duplicate")) == 300

        worker = processes.start(worker_cmd, env, tmp_path)  # started after the web processes queued the tasks
        wait_for(
            lambda: worker_alive(worker, processes) or r.hlen(f"{namespace}:handled") >= 700, 45, "700 events handled"
        )
        handled = {k.decode(): int(v) for k, v in r.hgetall(f"{namespace}:handled").items()}
        calls = {k.decode(): int(v) for k, v in r.hgetall(f"{namespace}:calls").items()}
        pids = {int(v) for v in r.hvals(f"{namespace}:pid")}
        assert set(handled) == set(distinct) and set(handled.values()) == {1}
        assert {k: v for k, v in calls.items() if v != 1} == dict.fromkeys(flaky, 2)
        ib = Inbox.from_settings(settings(store_url, store_options=store_options))
        stats = ib.store.stats()["generic"]
        assert stats == {Status.DONE.value: 700}
        assert ib.store.get("generic", distinct[0]).attempts == 2  # a flaky one, retried by the worker's sweeper
        ib.close()
        assert len(pids) == 1 and pids.isdisjoint(p.pid for p in processes.procs[:2])  # the worker ran them
    finally:
        errors = processes.stop()
        print(errors)  # shown when the test fails
        r.delete(f"{namespace}:handled", f"{namespace}:calls", f"{namespace}:pid")
        if kind == "celery":
            from kombu import Connection

            with Connection(amqp) as conn:
                conn.default_channel.queue_delete(namespace)
        else:
            import rq

            rq.Queue(namespace, connection=r).delete(delete_jobs=True)
        r.close()


def test_a_worker_without_an_inbox_to_load_says_which_variables_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_inbox with neither HOOKINBOX_INBOX nor HOOKINBOX_SETTINGS names both."""
    from hookinbox.executors import worker

    monkeypatch.delenv("HOOKINBOX_INBOX", raising=False)
    monkeypatch.delenv("HOOKINBOX_SETTINGS", raising=False)
    monkeypatch.setattr(worker, "_cached", None)
    with pytest.raises(ConfigurationError, match=r"HOOKINBOX_INBOX .* or HOOKINBOX_SETTINGS"):
        worker.load_inbox()


def test_a_worker_loads_the_inbox_from_a_settings_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """HOOKINBOX_SETTINGS names a TOML file; the worker builds that inbox once per process."""
    from hookinbox.executors import worker

    path = tmp_path / "hookinbox.toml"
    path.write_text('[endpoints.generic]\npath = "/webhooks/generic"\npreset = "generic"\nsecret = "s"\n')
    monkeypatch.delenv("HOOKINBOX_INBOX", raising=False)
    monkeypatch.setenv("HOOKINBOX_SETTINGS", str(path))
    monkeypatch.setattr(worker, "_cached", None)
    ib = worker.load_inbox()
    assert list(ib.endpoints) == ["generic"] and worker.load_inbox() is ib


def test_replay_from_a_script_with_the_rq_executor_enqueues_the_event(
    shared_store: tuple[str, dict[str, Any]], namespace: str
) -> None:
    """inbox.replay in a process with no executor running hands the replayed event to the task queue."""
    import rq

    from hookinbox.events import EventRecord

    store_url, store_options = shared_store
    ib = Inbox.from_settings(
        settings(store_url, store_options=store_options, executor="rq", executor_options={"queue": namespace})
    )
    store = ib.store
    store.record(EventRecord("generic", "evt_dead", "order.created", b"{}", {}, received_at=time.time()))
    assert store.claim("generic", "evt_dead", time.time(), 60) is not None
    store.fail("generic", "evt_dead", time.time(), "boom", None)
    try:
        assert ib.replay("evt_dead") == 1
        queue = ib.sync_executor().queue  # type: ignore[attr-defined]
        assert [job.args for job in queue.get_jobs()] == [("generic", "evt_dead")]
        assert store.get("generic", "evt_dead").status is Status.PENDING
    finally:
        rq.Queue(namespace, connection=ib.sync_executor().queue.connection).delete(delete_jobs=True)  # type: ignore[attr-defined]
        ib.close()


def test_two_rq_workers_handle_each_resource_in_order(
    request: pytest.FixtureRequest,
    shared_store: tuple[str, dict[str, Any]],
    namespace: str,
    processes: Processes,
    tmp_path: Path,
) -> None:
    """Ordering by resource with a remote executor: 40 events of two resources delivered shuffled to a web
    process while no worker runs, then two RQ workers: each resource's events run one at a time, all in
    order (the backlog was complete before anything ran: none stale)."""
    import redis
    import rq

    store_url, store_options = shared_store
    redis_url = request.getfixturevalue("redis_url")
    (tmp_path / "hookapp.py").write_text(APP)
    cfg = {
        "ns": namespace,
        "store": store_url,
        "store_options": store_options,
        "executor": "rq",
        "executor_options": {"redis": redis_url, "queue": namespace},
        "redis": redis_url,
        "endpoint": {"order_by": "data.rid", "order_seq": "data.seq"},
    }
    env = {
        **os.environ,
        "E2E": json.dumps(cfg),
        "HOOKINBOX_INBOX": "hookapp:inbox",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), SRC, HERE, ROOT]),
    }
    port = free_port()
    wait_listening(
        port,
        processes.start([sys.executable, "-m", "uvicorn", "hookapp:app", "--port", str(port)], env, tmp_path),
        processes,
    )
    r = redis.Redis.from_url(redis_url)
    worker_cmd = [
        sys.executable,
        "-c",
        "import redis; from hookinbox.executors.rq import Worker; "
        f"Worker([{namespace!r}], connection=redis.Redis.from_url({redis_url!r})).work()",
    ]
    try:
        events = [(rid, seq) for rid in ("res_a", "res_b") for seq in range(20)]
        random.Random(18).shuffle(events)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for rid, seq in events:
                body, headers = delivery(f"{namespace}-{rid}-{seq}", rid=rid, seq=seq)
                assert client.post(PATH, content=body, headers=headers).status_code == 200
        workers = [processes.start(worker_cmd, env, tmp_path) for _ in range(2)]
        wait_for(
            lambda: (
                any(worker_alive(w, processes) for w in workers)
                or r.llen(f"{namespace}:order:res_a") + r.llen(f"{namespace}:order:res_b") >= 40
            ),
            60,
            "40 events handled",
        )
        assert r.lrange(f"{namespace}:overlap", 0, -1) == []
        for rid in ("res_a", "res_b"):
            assert [int(x) for x in r.lrange(f"{namespace}:order:{rid}", 0, -1)] == list(range(20)), rid
        ib = Inbox.from_settings(settings(store_url, store_options=store_options))
        wait_for(lambda: ib.store.stats().get("generic") == {Status.DONE.value: 40}, 10, "40 done")
        ib.close()
    finally:
        print(processes.stop())
        keys = [f"{namespace}:{k}" for k in ("overlap", "order:res_a", "order:res_b", "lock:res_a", "lock:res_b")]
        r.delete(*keys, f"{namespace}:handled", f"{namespace}:calls", f"{namespace}:pid")
        rq.Queue(namespace, connection=r).delete(delete_jobs=True)
        r.close()
