"""The shell toolkit (hookinbox._shell): readers raise refusals, one guard never answers 500."""

from __future__ import annotations

import io
import logging

import pytest

from hookinbox import _shell, core
from hookinbox.errors import BodyTimeout, MalformedPayload, MethodNotAllowed, PayloadTooLarge


def test_header_lowering_lives_in_the_shell_toolkit_only() -> None:
    """Header lowering is a shell's job: the toolkit has it, the sans-IO core no longer does."""
    assert not hasattr(core, "lower_headers_from_asgi") and not hasattr(core, "lower_headers_from_environ")
    assert _shell.lower_headers_from_asgi([(b"X-A", b"1"), (b"x-a", b"2")]) == {"x-a": "1, 2"}


def test_check_request_raises_each_refusal() -> None:
    """Not POST, a bad Content-Length and one over the limit raise their Rejected subclass."""
    with pytest.raises(MethodNotAllowed):
        _shell.check_request(10, "GET", None)
    with pytest.raises(MalformedPayload):
        _shell.check_request(10, "POST", "ten")
    with pytest.raises(PayloadTooLarge):
        _shell.check_request(10, "POST", "11")
    _shell.check_request(10, "POST", "10")  # inclusive


@pytest.mark.parametrize(
    ("environ", "error"),
    [
        ({"CONTENT_LENGTH": "9", "wsgi.input": io.BytesIO(b"{}")}, _shell.ClientDisconnected),
        ({"wsgi.input_terminated": True, "wsgi.input": io.BytesIO(b"x" * 11)}, PayloadTooLarge),
        ({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"")}, _shell.LengthRequired),
        ({"wsgi.input": io.BytesIO(b"")}, MalformedPayload),
    ],
)
def test_the_wsgi_reader_raises_instead_of_returning_replies(environ: dict[str, object], error: type) -> None:
    """A short body, one over the limit, an unterminated chunked one or none: each raises its refusal."""
    with pytest.raises(error):
        _shell.read_wsgi_body(10, dict(environ), 5.0)


def test_the_wsgi_reader_takes_exactly_max_body_and_times_out() -> None:
    """Exactly max_body bytes from a terminated input are accepted; no time left is a 408."""
    assert _shell.read_wsgi_body(10, {"wsgi.input_terminated": True, "wsgi.input": io.BytesIO(b"y" * 10)}, 5.0)
    with pytest.raises(BodyTimeout):
        _shell.read_wsgi_body(10, {"CONTENT_LENGTH": "2", "wsgi.input": io.BytesIO(b"{}")}, 0.0)


def test_the_guard_maps_refusals_and_never_answers_500(caplog: pytest.LogCaptureFixture) -> None:
    """A refusal becomes its reply (INFO, no traceback); any other error is 503 with its traceback logged."""
    caplog.set_level(logging.INFO, logger="hookinbox")

    def refuse() -> core.Reply:
        raise _shell.ClientDisconnected("gone")

    def crash() -> core.Reply:
        raise KeyError("boom")

    assert _shell.guard("ep", refuse) is _shell.DISCONNECTED
    assert _shell.DISCONNECTED.status == 400
    assert not any(r.exc_info for r in caplog.records)
    reply = _shell.guard("ep", crash)
    assert (reply.status, dict(reply.headers).get("retry-after")) == (503, "5")
    assert any(r.exc_info for r in caplog.records)


def test_asgi_reads_share_one_deadline_timer_and_each_times_out() -> None:
    """Silent senders (no first message) each get BodyTimeout; a prompt one is read; a cancellation from
    outside stays a cancellation (not a 408)."""
    import asyncio

    deadlines = _shell.ReadDeadlines(0.05)

    async def silent() -> dict[str, object]:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def prompt() -> dict[str, object]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def main() -> list[object]:
        reads = [_shell.read_asgi_body(10, silent, 0.05, deadlines) for _ in range(20)]
        out = await asyncio.gather(*reads, _shell.read_asgi_body(10, prompt, 0.05, deadlines), return_exceptions=True)
        outside = asyncio.ensure_future(_shell.read_asgi_body(10, silent, 30, deadlines))
        await asyncio.sleep(0)
        outside.cancel()
        out.append(await asyncio.gather(outside, return_exceptions=True))
        return out

    out = asyncio.run(main())
    assert all(isinstance(e, BodyTimeout) for e in out[:20])
    assert out[20] == b"{}"
    assert isinstance(out[21][0], asyncio.CancelledError)  # type: ignore[index]
