"""The dashboard's neutral request and response: what the ASGI, WSGI and Django shells translate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["MAX_FORM", "Request", "Response", "parse_query"]

#: the largest form body the dashboard reads (its forms are a few fields)
MAX_FORM = 64 * 1024

#: on every page: no inline script or style, no framing, forms post only to the dashboard
SECURITY_HEADERS = (
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
)


def parse_query(text: str) -> dict[str, str]:
    """``a=1&b=2`` as a dict (the first value of a repeated name); empty values dropped."""
    out: dict[str, str] = {}
    for k, v in parse_qsl(text, keep_blank_values=False):
        out.setdefault(k, v)
    return out


@dataclass
class Request:
    """One request to the dashboard.

    ``path`` is relative to where the dashboard is mounted (``/``, ``/events``, ...) and ``root`` is that
    mount point (``""`` or ``/hookinbox``), so links work under any prefix. ``native`` is what the host
    gave (the WSGI environ, the ASGI scope or the Django request): an ``auth`` callable may read it.
    """

    method: str
    path: str
    root: str = ""
    query: dict[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    secure: bool = False
    native: Any = None

    @property
    def cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        try:
            jar.load(self.headers.get("cookie", ""))
        except CookieError:
            return {}
        return {k: m.value for k, m in jar.items()}

    def form(self) -> dict[str, str]:
        if not self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return {}
        return parse_query(self.body.decode("utf-8", "replace"))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def html(cls, status: int, text: str) -> Response:
        return cls(status, text.encode(), [("content-type", "text/html; charset=utf-8"), *SECURITY_HEADERS])

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(303, b"", [("location", location), *SECURITY_HEADERS])

    def with_headers(self) -> list[tuple[str, str]]:
        """The headers to send: these plus Content-Length and ``Cache-Control: no-store`` unless set."""
        names = {k for k, _ in self.headers}
        out = list(self.headers)
        if "cache-control" not in names:
            out.append(("cache-control", "no-store"))
        out.append(("content-length", str(len(self.body))))
        return out

    def set_cookie(self, name: str, value: str, *, path: str, secure: bool, max_age: int | None = None) -> None:
        """An HttpOnly, SameSite=Strict cookie scoped to the dashboard's path."""
        parts = [f"{name}={value}", f"Path={path}", "HttpOnly", "SameSite=Strict"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if secure:
            parts.append("Secure")
        self.headers.append(("set-cookie", "; ".join(parts)))
