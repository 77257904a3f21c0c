"""RQ executor: each accepted event becomes an RQ job; handlers run in RQ workers.

Web side (settings)::

    [hookinbox]
    store = "redis://redis:6379/0"            # or a SQL store, shared by web and workers
    executor = "rq"
    executor_options = { redis = "redis://redis:6379/1", queue = "hookinbox" }

``redis`` defaults to the store URL when the store is Redis. Worker side::

    HOOKINBOX_SETTINGS=hookinbox.toml rq worker -w hookinbox.executors.rq.Worker hookinbox

:class:`Worker` is RQ's ``SimpleWorker`` (jobs run in the worker process, so
the inbox and its store connections are built once) plus the hookinbox
sweeper. Each job is killed after ``lease`` seconds (RQ's job timeout), so a
handler cannot outlive its claim.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

try:
    import redis
    import rq
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("the rq executor needs RQ: pip install 'hookinbox[rq]'") from exc

from hookinbox.errors import ConfigurationError
from hookinbox.executors.worker import RemoteExecutor, Sweeper, check_options

if TYPE_CHECKING:
    from hookinbox.runtime import Runtime

__all__ = ["JOB", "RQExecutor", "Worker"]

log = logging.getLogger("hookinbox.executor")

JOB = "hookinbox.executors.worker.process_event"
DEFAULT_QUEUE = "hookinbox"


class RQExecutor(RemoteExecutor):
    """Enqueues ``process_event(endpoint, event_id)`` on an RQ queue; never runs handlers."""

    broker = "RQ"

    def __init__(self, queue: rq.Queue, *, job_timeout: float = 300.0) -> None:
        self.queue = queue
        self.job_timeout = max(1, int(job_timeout))

    @classmethod
    def from_runtime(cls, rt: Runtime) -> RQExecutor:
        """Options: ``redis`` (URL; default the Redis store's), ``queue`` (default ``hookinbox``)."""
        s = rt.settings
        check_options(s.executor_options, ("redis", "queue"), "rq")
        url = s.executor_options.get("redis")
        if url is None and s.store.split(":", 1)[0] in ("redis", "rediss"):
            url = s.store
        if not url:
            raise ConfigurationError(
                'the rq executor needs a Redis URL: executor_options = { redis = "redis://..." }',
                key="hookinbox.executor_options.redis",
            )
        # no client-side retries: a Redis that is down must not hold the request (the sweeper recovers)
        conn = redis.Redis.from_url(str(url), socket_connect_timeout=2, socket_timeout=5, retry=Retry(NoBackoff(), 0))
        queue = rq.Queue(str(s.executor_options.get("queue", DEFAULT_QUEUE)), connection=conn)
        return cls(queue, job_timeout=s.lease)

    def publish(self, endpoint: str, event_id: str) -> None:
        self.queue.enqueue(JOB, endpoint, event_id, job_timeout=self.job_timeout, result_ttl=0, failure_ttl=86400)

    def close(self) -> None:
        """Release the Redis connections (nothing runs here to drain)."""
        self.queue.connection.close()


class Worker(rq.SimpleWorker):  # type: ignore[misc, unused-ignore]
    """RQ's SimpleWorker that also runs the hookinbox sweeper while it works."""

    def work(self, *args: Any, **kwargs: Any) -> bool:
        sweeper = Sweeper(kind="rq")
        sweeper.start()
        try:
            return bool(super().work(*args, **kwargs))
        finally:
            sweeper.stop(timeout=5.0)
