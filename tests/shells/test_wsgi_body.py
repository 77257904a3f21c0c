"""The WSGI middleware reads the body through Werkzeug: lengths, chunked input, limits."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from hookinbox import Inbox
from tests.conftest import require_module
from tests.seeds import PROVIDERS, settings_dict

SHOP = PROVIDERS[4]


@pytest.fixture
def app() -> Iterator[Any]:
    require_module("werkzeug")
    from hookinbox.wsgi import WebhookMiddleware

    inbox = Inbox.from_settings(settings_dict(max_body="1KB"))
    yield WebhookMiddleware(None, inbox)
    inbox.close()


def call(app: Any, body: bytes, headers: dict[str, str], **environ: Any) -> tuple[str, bytes]:
    env = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": SHOP.path,
        "wsgi.input": io.BytesIO(body),
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
        **environ,
    }
    status: list[str] = []
    out = b"".join(app(env, lambda s, h: status.append(s)))
    return status[0], out


def test_chunked_body_with_a_terminating_server_is_read() -> None:
    """With wsgi.input_terminated (chunked body, no Content-Length) the whole body is read and verified."""
    require_module("werkzeug")
    from hookinbox.wsgi import WebhookMiddleware

    inbox = Inbox.from_settings(settings_dict())
    try:
        body = json.dumps(SHOP.preset.sample()).encode()
        status, _ = call(WebhookMiddleware(None, inbox), body, SHOP.headers(body), **{"wsgi.input_terminated": True})
        assert status.startswith("200")
    finally:
        inbox.close()


def test_chunked_body_over_the_limit_is_413_not_truncated(app: Any) -> None:
    """A terminated chunked body over max_body is refused with 413, never silently truncated."""
    body = b"x" * 5000
    status, _ = call(app, body, {"x-cimplify-signature": "00"}, **{"wsgi.input_terminated": True})
    assert status.startswith("413")


def test_chunked_body_without_a_terminating_server_is_411(app: Any) -> None:
    """Chunked input the server does not terminate cannot be read safely: 411, never an empty body."""
    status, out = call(app, b"{}", {"transfer-encoding": "chunked"})
    assert status.startswith("411")
    assert b"length_required" in out


def test_duplicate_content_length_is_400(app: Any) -> None:
    """CONTENT_LENGTH='7, 7' (duplicate headers) is a 400."""
    status, _ = call(app, b"{}", {}, CONTENT_LENGTH="7, 7")
    assert status.startswith("400")


def test_declared_oversize_is_413(app: Any) -> None:
    """CONTENT_LENGTH over max_body is refused with 413."""
    status, _ = call(app, b"{}", {}, CONTENT_LENGTH="5000")
    assert status.startswith("413")
