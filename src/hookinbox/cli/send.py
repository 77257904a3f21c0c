"""``hookinbox send``: POST a provider's example event, signed as that provider signs it.

The body is the preset's sample for the event type (the first one when no
type is given), or ``--data``; the headers come from the endpoint's own
verifier (``verifier.headers_for(body, now)``), so a sent event passes the
same check a real delivery does. Uses the standard library's ``urllib``.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hookinbox.cli._context import CommandError, Context
from hookinbox.cli._output import echo
from hookinbox.envelope import parse_object
from hookinbox.errors import Rejected
from hookinbox.settings import EndpointSettings
from hookinbox.testing import signed_delivery

__all__ = ["add_parser", "build_delivery", "event_key", "post", "run", "target_url"]

DEFAULT_BASE = "http://127.0.0.1:8000"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("send", help="POST a signed example event to an endpoint")
    p.add_argument("endpoint", help="endpoint name from the settings")
    p.add_argument("event_type", nargs="?", help="event type from the provider's examples (default: the first)")
    p.add_argument("--data", "-d", metavar="JSON|@FILE", help="body to send instead of the example (sent as is)")
    p.add_argument(
        "--url", help=f"URL to POST to; without a path, the endpoint's path is added (default {DEFAULT_BASE})"
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer (default 10)")
    p.set_defaults(run=run)


def build_delivery(
    ep: EndpointSettings, event_type: str | None = None, data: bytes | None = None, now: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a delivery to ``ep``, signed with its first secret."""
    payload: Any = data
    if data is None:
        if ep.preset is None:
            raise CommandError(f"endpoint {ep.name!r} has no preset, so no example events; give --data")
        try:
            payload = ep.preset.sample(event_type)  # a mapping: its example headers come along
        except KeyError:
            types = ", ".join(ep.preset.event_types)
            raise CommandError(f"{ep.preset.name} has no example {event_type!r} event; one of {types}") from None
    # signed_delivery also adds the id/type headers that providers such as GitHub and Shopify send
    try:
        delivery = signed_delivery(ep, payload, now=time.time() if now is None else now, event_type=event_type)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return delivery.body, {"User-Agent": "hookinbox-send", **delivery.headers}


def event_key(ep: EndpointSettings, body: bytes, headers: dict[str, str]) -> tuple[str, str]:
    """The (type, id) the receiver will record for this delivery."""
    lower = {k.lower(): v for k, v in headers.items()}
    payload = parse_object(body)
    event_type = ep.envelope.event_type(payload, lower)
    return event_type, ep.envelope.event_id(payload, lower, body, event_type)


def target_url(url: str | None, path: str) -> str:
    """``--url`` as given when it has a path, else the base URL plus the endpoint's path."""
    base = url or DEFAULT_BASE
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(f"--url {base!r} is not an http(s) URL")
    if parts.path in ("", "/"):
        return base.rstrip("/") + path
    return base


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> tuple[int, bytes]:
    """POST and return (status, response body); CommandError when nothing answered."""
    # http(s) only: target_url() refuses other schemes
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CommandError(f"POST {url}: {reason}") from None


def _read_data(value: str | None) -> bytes | None:
    if value is None:
        return None
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_bytes()
        except OSError as exc:
            raise CommandError(f"--data {value}: {exc.strerror}") from None
    return value.encode("utf-8")


def run(ctx: Context) -> int:
    args = ctx.args
    settings = ctx.settings()
    ep = settings.endpoints.get(args.endpoint)
    if ep is None:
        raise CommandError(f"no endpoint {args.endpoint!r}; configured: {', '.join(settings.endpoints)}")
    if args.event_type and args.data is not None:
        raise CommandError("give EVENT_TYPE or --data, not both")
    body, headers = build_delivery(ep, args.event_type, _read_data(args.data))
    url = target_url(args.url, ep.path)
    try:
        event_type, event_id = event_key(ep, body, headers)
        what = f" {event_type} {event_id}"
    except Rejected:
        what = " (body without a valid event envelope)"
    echo(f"POST {url}{what}")
    status, answer = post(url, body, headers, args.timeout)
    echo(f"{status} {answer.decode('utf-8', 'replace').strip()}")
    return 0 if 200 <= status < 300 else 1
