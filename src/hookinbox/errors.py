"""One exception tree for hookinbox.

Two families that never mix:

* :class:`ConfigurationError`: the settings or the code are wrong. Raised at
  start-up (or at first use), never turned into an HTTP answer, never swallowed.
* :class:`Rejected`: a delivery is refused. Each subclass carries the HTTP
  status that :func:`hookinbox.core.reply_for` turns into the answer, so the
  mapping from error to status lives in exactly one place.

A duplicate delivery is a normal outcome, not an exception.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "BodyTimeout",
    "ConfigurationError",
    "HookinboxError",
    "MalformedPayload",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "QueueFull",
    "Rejected",
    "SecretUnavailable",
    "StoreFull",
    "StoreUnavailable",
    "Unavailable",
]


class HookinboxError(Exception):
    """Base of every error hookinbox raises on purpose."""


class ConfigurationError(HookinboxError):
    """The settings, a preset or a handler reference is wrong.

    ``key`` is the dotted settings key (``endpoints.shop.verify.secrets``) and
    ``source`` the file it came from, when known; both appear in ``str()``.
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None) -> None:
        self.message = message
        self.key = key
        self.source = source
        where = ""
        if source:
            where = f"{source}: "
        if key:
            where += f"{key}: "
        super().__init__(where + message)


class Rejected(HookinboxError):
    """A delivery that hookinbox refuses; ``status`` is the HTTP answer."""

    status = 400
    #: Short machine-readable reason, sent in the JSON body as ``error``.
    code = "rejected"

    def __init__(self, detail: str = "") -> None:
        self.detail = detail or self.__class__.__doc__ or self.code
        super().__init__(self.detail)


class AuthenticationFailed(Rejected):
    """Missing or invalid signature or API key."""

    status = 401
    code = "unauthorized"


class MalformedPayload(Rejected):
    """The body is not a JSON object, or lacks a required envelope field."""

    status = 400
    code = "malformed"


class MethodNotAllowed(Rejected):
    """Webhook endpoints accept POST only."""

    status = 405
    code = "method_not_allowed"


class PayloadTooLarge(Rejected):
    """The body is larger than ``max_body``."""

    status = 413
    code = "too_large"


class BodyTimeout(Rejected):
    """The client did not send the whole body in time."""

    status = 408
    code = "body_timeout"


class Unavailable(Rejected):
    """The event could not be kept; the sender should retry later.

    Always answered ``503`` with ``Retry-After`` so that senders retry.
    """

    status = 503
    code = "unavailable"

    def __init__(self, detail: str = "", *, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class StoreUnavailable(Unavailable):
    """The store could not be reached or did not answer in time."""

    code = "store_unavailable"


class StoreFull(Unavailable):
    """The store holds as many unfinished events as it may."""

    code = "store_full"


class QueueFull(Unavailable):
    """The executor queue is full and the store is not durable."""

    code = "queue_full"


class SecretUnavailable(Unavailable):
    """The endpoint's secret resolver failed; a retry may find the secret."""

    code = "secret_unavailable"
