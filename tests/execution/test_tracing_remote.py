"""Traces across the executor hop: a delivery received here, handled by a real Celery or RQ worker process."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from execution_helpers import PATH, delivery, settings
from test_remote import SRC, Processes, processes, worker_alive  # noqa: F401 (fixture)
from tests.otel_helpers import by_name, capture, release
from tests.toolkit import wait_for

from hookinbox import Inbox

ROOT = str(Path(__file__).resolve().parents[2])

WORKER_APP = textwrap.dedent(
    """
    import json, os
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
    from hookinbox import Inbox
    from execution_helpers import settings

    class FileExporter(SpanExporter):
        def export(self, spans):
            with open(os.environ["SPANS"], "a") as f:
                for s in spans:
                    f.write(json.dumps({
                        "name": s.name, "trace_id": s.context.trace_id, "span_id": s.context.span_id,
                        "parent": s.parent.span_id if s.parent else None, "remote": bool(s.parent and s.parent.is_remote),
                        "attributes": dict(s.attributes), "pid": os.getpid(),
                    }) + "\\n")
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(FileExporter()))
    trace.set_tracer_provider(provider)

    cfg = json.loads(os.environ["E2E"])
    inbox = Inbox.from_settings(settings(
        cfg["store"], store_options=cfg["store_options"], executor=cfg["executor"], executor_options=cfg["executor_options"],
    ))

    @inbox.on("*")
    def handle(event):
        with open(os.environ["SEEN"], "a") as f:
            ctx = trace.get_current_span().get_span_context()
            f.write(json.dumps([event.id, ctx.trace_id, ctx.span_id]) + "\\n")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["celery", "rq"])
def test_the_handler_span_in_a_worker_process_has_the_receive_span_as_parent(
    kind: str,
    request: pytest.FixtureRequest,
    shared_store: tuple[str, dict[str, Any]],
    namespace: str,
    processes: Processes,  # noqa: F811
    tmp_path: Path,
) -> None:
    """ASGI receive here (in-memory exporter) → RabbitMQ or Redis → a worker process: its handler span's parent."""
    from tests.asgi_client import AsgiClient

    from hookinbox.asgi import WebhookMiddleware

    store_url, store_options = shared_store
    redis_url = request.getfixturevalue("redis_url")
    amqp = ""
    if kind == "celery":
        amqp = request.getfixturevalue("amqp_url")
        executor_options = {"broker": amqp, "queue": namespace}
        worker_cmd = [
            *(sys.executable, "-m", "celery", "-A", "hookinbox.executors.celery", "worker", "--pool=threads"),
            *("--concurrency=1", "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
    else:
        executor_options = {"redis": redis_url, "queue": namespace}
        worker_cmd = [
            sys.executable,
            "-c",
            "import redis; from hookinbox.executors.rq import Worker; "
            f"Worker([{namespace!r}], connection=redis.Redis.from_url({redis_url!r})).work()",
        ]
    exporter = capture()
    inbox = Inbox.from_settings(
        settings(store_url, store_options=store_options, executor=kind, executor_options=executor_options)
    )
    client = AsgiClient(WebhookMiddleware(None, inbox))
    spans_file, seen_file = tmp_path / "spans.jsonl", tmp_path / "seen.jsonl"
    (tmp_path / "hookapp.py").write_text(WORKER_APP)
    cfg = {"store": store_url, "store_options": store_options, "executor": kind, "executor_options": executor_options}
    env = {
        **os.environ,
        "E2E": json.dumps(cfg),
        "HOOKINBOX_INBOX": "hookapp:inbox",
        "SPANS": str(spans_file),
        "SEEN": str(seen_file),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), SRC, str(Path(__file__).resolve().parent), ROOT]),
    }
    try:
        body, headers = delivery(f"{namespace}-traced")
        assert client.request("POST", PATH, body, headers).status_code == 200
        (receive,) = by_name(exporter.get_finished_spans(), "hookinbox.receive")
        worker = processes.start(worker_cmd, env, tmp_path)

        def handler_spans() -> list[dict[str, Any]]:
            worker_alive(worker, processes)
            if not spans_file.exists():
                return []
            lines = [json.loads(line) for line in spans_file.read_text().splitlines() if line]
            return [s for s in lines if s["name"] == "hookinbox.handler"]

        (handler,) = wait_for(handler_spans, 45, "the worker's handler span")
        assert handler["pid"] == worker.pid != os.getpid()
        assert handler["trace_id"] == receive.context.trace_id
        assert handler["parent"] == receive.context.span_id and handler["remote"] is True
        assert handler["attributes"]["hookinbox.event.id"] == f"{namespace}-traced"
        assert receive.attributes["hookinbox.event.id"] == f"{namespace}-traced"
        (seen,) = [json.loads(line) for line in seen_file.read_text().splitlines()]
        assert seen == [f"{namespace}-traced", handler["trace_id"], handler["span_id"]]  # current inside the handler
    finally:
        release()
        client.close()
        inbox.close()
        processes.stop()
        if kind == "celery":
            from kombu import Connection

            with Connection(amqp) as conn:
                conn.default_channel.queue_delete(namespace)
        else:
            import redis
            import rq

            r = redis.Redis.from_url(redis_url)
            rq.Queue(namespace, connection=r).delete(delete_jobs=True)
            r.close()
