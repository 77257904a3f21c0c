"""Who may see the dashboard, and the CSRF token every action carries.

Two modes, chosen by :class:`~hookinbox.dashboard.Dashboard`'s arguments:

* **token** (standalone, ``hookinbox serve --dashboard``): a login form takes the token, compares it in
  constant time, and sets a session cookie (HttpOnly, SameSite=Strict) holding an expiry time and an
  HMAC of it under a key derived from the token; never the token itself. Changing the token ends every
  session.
* **host** (mounted): ``auth(request)`` decides, with whatever the host app knows (its session, its user);
  the Django view uses ``staff_member_required``.

CSRF, in both modes: a random token in a cookie (HttpOnly, SameSite=Strict) that every form repeats in a
hidden field; a POST whose field does not equal the cookie is refused with 403 before anything runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "Sessions", "csrf_ok", "new_csrf"]

SESSION_COOKIE = "hookinbox_session"
CSRF_COOKIE = "hookinbox_csrf"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Sessions:
    """Signed, expiring session values for the token mode."""

    def __init__(self, token: str, *, max_age: int = 12 * 3600) -> None:
        self._token = token.encode()
        self._key = hmac.new(self._token, b"hookinbox-dashboard-session-v1", hashlib.sha256).digest()
        self.max_age = max_age

    def token_ok(self, given: str) -> bool:
        """Constant-time comparison of a login attempt with the configured token."""
        return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(self._token).digest())

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.max_age)
        nonce = secrets.token_hex(8)
        payload = f"{expires}.{nonce}"
        return f"{payload}.{self._sign(payload)}"

    def valid(self, value: str | None, now: float | None = None) -> bool:
        if not value or value.count(".") != 2:
            return False
        payload, _, sig = value.rpartition(".")
        if not hmac.compare_digest(sig.encode(), self._sign(payload).encode()):
            return False
        try:
            expires = int(payload.split(".", 1)[0])
        except ValueError:
            return False
        return (time.time() if now is None else now) < expires


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(cookie: str | None, field: str | None) -> bool:
    """The form's token equals the cookie's (both present)."""
    if not cookie or not field:
        return False
    return hmac.compare_digest(cookie.encode(), field.encode())
