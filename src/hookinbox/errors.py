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

import re

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
    "SettingsErrors",
    "StoreFull",
    "StoreUnavailable",
    "Unavailable",
]


class HookinboxError(Exception):
    """Base of every error hookinbox raises on purpose."""


def toml_location(key: str) -> str:
    """How a dotted key reads in a TOML file: ``endpoints.shop.secret`` → ``[endpoints.shop] secret``.

    ``hookinbox.dedup_ttl`` → ``[hookinbox] dedup_ttl``; ``endpoints.shop`` → ``[endpoints.shop]``;
    a handler pattern keeps its dots: ``[endpoints.shop.handlers] "order.*"``.
    """
    parts = key.split(".")
    if len(parts) == 1:
        return key
    if parts[0] == "endpoints" and len(parts) == 2:
        return f"[{key}]"
    if parts[0] == "endpoints" and len(parts) >= 4 and parts[2] == "handlers":
        table, name = ".".join(parts[:3]), ".".join(parts[3:])
    else:
        table, name = ".".join(parts[:-1]), parts[-1]
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        name = f'"{name}"'
    return f"[{table}] {name}"


class ConfigurationError(HookinboxError):
    """The settings, a preset or a handler reference is wrong.

    ``key`` is the dotted settings key (``endpoints.shop.verify.secrets``) and
    ``source`` the file it came from, when known; both appear in ``str()``. With
    ``toml=True`` (the settings came from a TOML file) the key is shown as it reads
    in the file: ``hookinbox.toml: [endpoints.shop] secret: empty; set SHOP_SECRET``.
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None, toml: bool = False) -> None:
        self.message = message
        self.key = key
        self.source = source
        self.toml = toml
        where = ""
        if source:
            where = f"{source}: "
        if key:
            where += f"{toml_location(key) if toml else key}: "
        super().__init__(where + message)

    def located(self, source: str, *, toml: bool = False) -> ConfigurationError:
        """This error with ``source`` (when it has none yet), shown in the TOML form when ``toml``."""
        if self.source is not None:
            return self
        return ConfigurationError(self.message, key=self.key, source=source, toml=toml)


class SettingsErrors(ConfigurationError):
    """Several settings mistakes, reported at once; ``errors`` holds each (with its key and file).

    ``str()`` is one line per mistake, ``FILE: KEY: problem``, after a count.
    """

    def __init__(self, errors: list[ConfigurationError], *, source: str | None = None) -> None:
        self.errors = list(errors)
        where = f" in {source}" if source else ""
        lines = [f"{len(self.errors)} problems{where}:", *(f"  {e}" for e in self.errors)]
        super().__init__("\n".join(lines))
        self.source = source


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
