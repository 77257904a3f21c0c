"""The standalone receiver's app in-process: /healthz with a store that answers and one that does not."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hookinbox import Inbox, Settings, StoreUnavailable
from hookinbox.cli.serve import build_app
from hookinbox.stores.memory import MemoryStore
from tests.seeds import settings_dict


class DownStore(MemoryStore):
    """A memory store whose reads fail as an unreachable server's would."""

    def list(self, **kwargs: Any) -> Any:
        raise StoreUnavailable("connection refused to postgresql://app:hunter2@db")


async def call(inbox: Inbox, method: str, path: str) -> tuple[int, bytes]:
    app = build_app(inbox, owns_inbox=False)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_healthz_ok() -> None:
    """A store that answers gives 200 with status ok."""
    inbox = Inbox(Settings.from_dict(settings_dict(), env={}))
    status, body = asyncio.run(call(inbox, "GET", "/healthz"))
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_healthz_store_down_is_503_without_the_message() -> None:
    """A store that fails gives 503 with the error class only (its message may hold a password)."""
    inbox = Inbox(Settings.from_dict(settings_dict(), env={}), store=DownStore())
    status, body = asyncio.run(call(inbox, "GET", "/healthz"))
    info = json.loads(body)
    assert status == 503
    assert (info["status"], info["error"]) == ("unavailable", "StoreUnavailable")
    assert b"hunter2" not in body


def test_healthz_is_get_only_and_other_paths_404() -> None:
    """POST /healthz and unknown paths are 404; HEAD /healthz has no body."""
    inbox = Inbox(Settings.from_dict(settings_dict(), env={}))
    assert asyncio.run(call(inbox, "POST", "/healthz"))[0] == 404
    assert asyncio.run(call(inbox, "GET", "/other"))[0] == 404
    assert asyncio.run(call(inbox, "HEAD", "/healthz")) == (200, b"")
