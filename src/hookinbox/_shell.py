"""The shell toolkit: what every framework shell (ASGI, WSGI, Django, Flask, Starlette) shares.

A shell does only I/O and translation::

    check_request(endpoint, method, content_length)           # raises before the body is read
    body = read_wsgi_body(endpoint, environ, timeout)          # or await read_asgi_body(...)
    headers = lower_headers_from_environ(environ)              # or lower_headers_from_asgi(...)
    reply = inbox.receive(endpoint, headers, body)             # or await inbox.areceive(...)

wrapped in :func:`guard` / :func:`aguard`, the one never-500 guard: a
:class:`~hookinbox.errors.Rejected` raised anywhere becomes its reply (through
:func:`hookinbox.core.reply_for`, logged at INFO, no traceback), anything else
is logged with its traceback and answered ``503`` + ``Retry-After``.

Body readers return the body or raise: :class:`~hookinbox.errors.PayloadTooLarge`
(413, reading stops at the limit, which is inclusive: a body of exactly
``max_body`` bytes is accepted on every path), :class:`~hookinbox.errors.BodyTimeout`
(408: the whole body, first byte included, did not arrive within
``body_timeout``), :class:`ClientDisconnected` (400: the client went away
mid-body), :class:`LengthRequired` (411), :class:`~hookinbox.errors.MalformedPayload`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from hookinbox.core import Reply, reply_for
from hookinbox.errors import BodyTimeout, MalformedPayload, MethodNotAllowed, PayloadTooLarge, Rejected
from hookinbox.errors import StoreUnavailable as _StoreUnavailable

__all__ = [
    "DISCONNECTED",
    "ERROR",
    "ClientDisconnected",
    "LengthRequired",
    "ReadDeadlines",
    "aguard",
    "check_request",
    "guard",
    "lower_headers_from_asgi",
    "lower_headers_from_environ",
    "read_asgi_body",
    "read_wsgi_body",
]

log = logging.getLogger("hookinbox")

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

#: The answer to an unexpected error: never a 500, always something a sender retries.
ERROR = reply_for(_StoreUnavailable("internal error; please retry"))


class ClientDisconnected(Rejected):
    """The client went away before sending the whole body."""

    status = 400
    code = "client_disconnected"


class LengthRequired(Rejected):
    """A chunked body the WSGI server does not terminate cannot be read safely."""

    status = 411
    code = "length_required"


# -- the never-500 guard ---------------------------------------------------------------------


#: The reply to a client that went away (WSGI must answer something; ASGI sends nothing).
DISCONNECTED = reply_for(ClientDisconnected())


def answer_error(endpoint: str, exc: Exception) -> Reply:
    """The reply to an exception escaping a shell: a refusal's own, else 503 (logged with traceback)."""
    if isinstance(exc, ClientDisconnected):
        log.info("client went away sending a delivery to %s: %s", endpoint, exc.detail)
        return DISCONNECTED
    if isinstance(exc, Rejected):
        log.info("refused delivery to %s: %s %s", endpoint, exc.status, exc.detail)
        return reply_for(exc)
    log.error("unexpected error answering a delivery to %s; answered 503", endpoint, exc_info=exc)
    return ERROR


def guard(endpoint: str, answer: Callable[[], Reply]) -> Reply:
    """``answer()``, or the reply to what it raised (see :func:`answer_error`). Never raises."""
    try:
        return answer()
    except Exception as exc:
        return answer_error(endpoint, exc)


async def aguard(endpoint: str, answer: Callable[[], Awaitable[Reply]]) -> Reply:
    """:func:`guard` for a coroutine."""
    try:
        return await answer()
    except Exception as exc:
        return answer_error(endpoint, exc)


# -- before the body -------------------------------------------------------------------------


def check_request(max_body: int, method: str, content_length: str | None) -> None:
    """Refuse before reading the body: not POST (405), a bad or too large Content-Length (400, 413)."""
    if method != "POST":
        raise MethodNotAllowed("webhook endpoints accept POST only")
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise MalformedPayload(f"invalid Content-Length {content_length[:40]!r}") from None
        if declared > max_body:
            raise too_large(max_body)


def too_large(max_body: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"body is larger than {max_body} bytes")


# -- headers ---------------------------------------------------------------------------------


def lower_headers_from_asgi(raw: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...]) -> dict[str, str]:
    """ASGI header pairs to a dict with lower-case names (repeated headers joined by ', ')."""
    out = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
    if len(out) == len(raw):
        return out  # no name repeated: the common case, in one pass
    out = {}
    for k, v in raw:
        name = k.decode("latin-1").lower()
        value = v.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def lower_headers_from_environ(environ: Mapping[str, object]) -> dict[str, str]:
    """WSGI environ to a dict of lower-case header names."""
    out: dict[str, str] = {}
    for k, v in environ.items():
        if k.startswith("HTTP_"):
            out[k[5:].replace("_", "-").lower()] = str(v)
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = str(environ["CONTENT_TYPE"])
    if environ.get("CONTENT_LENGTH"):
        out["content-length"] = str(environ["CONTENT_LENGTH"])
    return out


# -- bodies ----------------------------------------------------------------------------------


class ReadDeadlines:
    """Bounds the body reads of many ASGI requests with one timer per event loop.

    ``asyncio.timeout`` around each read costs a timer (and a heap entry) per
    request, several microseconds on the hot path; a delivery's body is
    almost always there at the first ``receive``. Here each read registers its
    task and deadline in a dict, and one timer per loop (every
    ``min(1 s, timeout / 4)``, only while reads are in flight) cancels the
    tasks past their deadline: a read ends within ``timeout`` plus one tick.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.tick = min(1.0, max(timeout / 4, 0.01))
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopDeadlines]
        self._loops = weakref.WeakKeyDictionary()
        self._last: _LoopDeadlines | None = None  # the loop of the last read (keeps it alive until the next)

    def _for(self, loop: asyncio.AbstractEventLoop) -> _LoopDeadlines:
        state = self._last
        if state is not None and state.loop is loop:  # the common case: one loop serves every request
            return state
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _LoopDeadlines(loop, self.tick)
        self._last = state
        return state


class _LoopDeadlines:
    __slots__ = ("expired", "loop", "reading", "tick", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, tick: float) -> None:
        self.loop = loop
        self.tick = tick
        self.reading: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()
        self.timer: asyncio.TimerHandle | None = None

    def start(self, task: asyncio.Task[Any], timeout: float) -> None:
        self.reading[task] = self.loop.time() + timeout
        if self.timer is None:
            self.timer = self.loop.call_later(self.tick, self.check)

    def check(self) -> None:
        now = self.loop.time()
        for task, deadline in list(self.reading.items()):
            if deadline <= now:
                del self.reading[task]
                self.expired.add(task)
                task.cancel()
        self.timer = self.loop.call_later(self.tick, self.check) if self.reading else None


async def read_asgi_body(
    max_body: int, receive: Receive, timeout: float, deadlines: ReadDeadlines | None = None
) -> bytes:
    """The body from the ASGI stream, all of it (first message included) within ``timeout`` seconds."""
    task = asyncio.current_task()
    assert task is not None, "an ASGI app runs in an asyncio task"
    state = (deadlines or ReadDeadlines(timeout))._for(task.get_loop())
    state.start(task, timeout)
    try:
        message = await receive()  # the common case: the whole body in one message
        if message["type"] != "http.request":
            raise ClientDisconnected("the client went away before sending the body")
        body: bytes = message.get("body", b"")
        if len(body) > max_body:
            raise too_large(max_body)
        if not message.get("more_body", False):
            return body
        chunks = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise ClientDisconnected("the client went away mid-body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_body:
                raise too_large(max_body)  # stop reading at the limit
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
    except asyncio.CancelledError:
        if task not in state.expired:
            raise
        state.expired.discard(task)
        task.uncancel()
        raise BodyTimeout(f"body not received within {timeout:g} s") from None
    finally:
        state.reading.pop(task, None)


def read_wsgi_body(max_body: int, environ: MutableMapping[str, Any], timeout: float) -> bytes:
    """At most ``max_body`` bytes of the request body, within ``timeout`` seconds.

    With ``Content-Length``, exactly that many bytes are read (fewer: the client
    went away). Without it, a server that terminates the input
    (``wsgi.input_terminated``: gunicorn, the werkzeug dev server for chunked
    bodies) is read to its end; anything else is refused (411 for a chunked
    body, else an empty body). The time limit is enforced on the socket when
    the server exposes it (gunicorn's ``gunicorn.socket``): a slow or silent
    client gets 408 and frees the worker; elsewhere only between reads.
    """
    length_header = environ.get("CONTENT_LENGTH")
    if length_header:
        try:
            wanted = int(length_header)
        except ValueError:
            raise MalformedPayload(f"invalid Content-Length {str(length_header)[:40]!r}") from None
        if wanted > max_body:
            raise too_large(max_body)
    elif "wsgi.input_terminated" in environ:
        wanted = -1  # read to the end of the terminated input
    elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        raise LengthRequired("chunked body without a server that terminates wsgi.input; send Content-Length")
    else:
        raise MalformedPayload("empty body; expected a JSON object")
    stream = environ["wsgi.input"]
    sock = environ.get("gunicorn.socket")
    previous = sock.gettimeout() if sock is not None else None
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    try:
        while wanted < 0 or size < wanted:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if sock is not None:
                sock.settimeout(left)
            # one byte over the limit tells a body that is too large from one of exactly max_body
            chunk = stream.read(min(65536, (wanted if wanted >= 0 else max_body + 1) - size))
            if not chunk:
                if wanted >= 0:
                    raise ClientDisconnected(f"the client went away after {size} of {wanted} bytes")
                break
            size += len(chunk)
            if size > max_body:
                raise too_large(max_body)
            chunks.append(chunk)
    except Exception as exc:
        if sock is not None:  # the rest of the body is never read: nothing for the server to drain
            _stop_reading(sock)
        if isinstance(exc, TimeoutError):
            raise BodyTimeout(f"body not received within {timeout:g} s") from None
        if isinstance(exc, Rejected) or not isinstance(exc, _disconnect_errors()):
            raise
        raise ClientDisconnected("the client went away mid-body") from None
    finally:
        if sock is not None:
            try:
                sock.settimeout(previous)
            except OSError:
                pass
    return b"".join(chunks)


def _stop_reading(sock: Any) -> None:
    """Shut the read side: the reply is still sent, but a keep-alive server (gunicorn gthread) that
    drains an unread body before the next request finds its end at once instead of waiting on a
    slow or oversized sender, and closes the connection."""
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass


def _disconnect_errors() -> tuple[type[BaseException], ...]:
    """What a WSGI input raises when the connection breaks; werkzeug's streams (Flask, its dev server)
    raise its own ``ClientDisconnected``, looked up only if werkzeug is loaded (the core needs none)."""
    wz = sys.modules.get("werkzeug.exceptions")
    return (OSError, ValueError, wz.ClientDisconnected) if wz is not None else (OSError, ValueError)
