"""Authentication of deliveries, on the exact received bytes, before any parsing.

A verifier is any object with ``verify(headers, body, now)`` that returns
``None`` when the delivery is authentic and raises
:class:`~hookinbox.errors.AuthenticationFailed` otherwise. Verifiers are built
from the endpoint's ``verify`` settings by :func:`build_verifier`, which looks
the ``scheme`` up in :data:`SCHEMES`; a new scheme is one module and one line
in that table.

A verifier may also have ``handshake(payload, headers)``, called after a
successful ``verify`` with the parsed body: it returns a JSON object to answer
with 200 instead of recording an event (Slack's ``url_verification``
challenge), or ``None`` for an ordinary event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from hookinbox.errors import AuthenticationFailed, ConfigurationError

__all__ = ["SCHEMES", "Verifier", "build_verifier", "register_scheme", "verify"]


@runtime_checkable
class Verifier(Protocol):
    """Checks one delivery. Implementations must compare in constant time."""

    #: Lower-cased header names that carry credentials; they are never stored or logged.
    sensitive_headers: frozenset[str]

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        """Return if authentic, else raise ``AuthenticationFailed`` with a reason.

        ``headers`` has lower-cased names. ``now`` is the Unix time, for
        schemes that sign a timestamp.
        """

    def headers_for(self, body: bytes, now: float) -> dict[str, str]:
        """The headers the provider would send with ``body`` (signed with the first secret).

        Used by ``hookinbox send``, :mod:`hookinbox.testing` and the tests, so
        that signing and verifying live side by side in one module.
        """


VerifierFactory = Callable[[dict[str, Any], str], Verifier]

#: scheme name -> factory(options, settings_key) -> Verifier
SCHEMES: dict[str, VerifierFactory] = {}


def register_scheme(*names: str) -> Callable[[VerifierFactory], VerifierFactory]:
    """Decorator registering a verifier factory under one or more scheme names."""

    def deco(factory: VerifierFactory) -> VerifierFactory:
        for name in names:
            SCHEMES[name] = factory
        return factory

    return deco


def build_verifier(options: dict[str, Any], key: str = "verify") -> Verifier:
    """Build the verifier for an endpoint's ``verify`` table (``key`` names it in errors)."""
    scheme = options.get("scheme")
    if not isinstance(scheme, str):
        raise ConfigurationError(f"missing; one of {', '.join(sorted(SCHEMES))}", key=f"{key}.scheme")
    factory = SCHEMES.get(scheme.lower())
    if factory is None:
        import difflib

        close = difflib.get_close_matches(scheme.lower(), list(SCHEMES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigurationError(
            f"unknown scheme {scheme!r}{hint}; one of {', '.join(sorted(SCHEMES))}", key=f"{key}.scheme"
        )
    verifier = factory(options, key)
    if getattr(verifier, "scheme", None) is None:
        try:  # the scheme's name, for traces and logs (a verifier with __slots__ goes without)
            verifier.scheme = scheme.lower()  # type: ignore[attr-defined]
        except AttributeError:
            pass
    return verifier


def verify(
    scheme: str,
    secret: str | bytes | list[str],
    body: bytes,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    now: float | None = None,
    **options: Any,
) -> None:
    """Verify one delivery outside the middleware (in your own view, worker or test); returns None when authentic.

    ``scheme`` is a scheme (``stripe``, ``github``, ``shopify``, ``slack``, ``standard-webhooks``,
    ``svix``, ``hmac-sha256``, ``api-key``...) or a preset name (``cimplify``), whose ``verify``
    options are used. ``secret`` is the secret (or a list, any of which may match), ``body`` the
    exact raw bytes received, ``headers`` any mapping or list of pairs: names are matched
    case-insensitively (``Stripe-Signature`` = ``stripe-signature``). ``options`` are the scheme's
    ``verify`` options (``header="X-Signature"``, ``tolerance="10m"``, ...).

    Raises :class:`~hookinbox.errors.AuthenticationFailed` (``.detail`` says why) when the
    delivery is not authentic, :class:`~hookinbox.errors.ConfigurationError` when the scheme,
    secret or options are wrong. ::

        try:
            hookinbox.verify("stripe", os.environ["STRIPE_WEBHOOK_SECRET"], request.body, request.headers)
        except hookinbox.AuthenticationFailed as exc:
            return HttpResponse(exc.detail, status=401)
    """
    from hookinbox.presets import PRESETS

    if isinstance(body, str):
        raise TypeError("body must be the raw bytes received, not text (re-encoding changes what was signed)")
    opts: dict[str, Any] = {}
    preset = PRESETS.get(scheme.lower()) if scheme.lower() not in SCHEMES else None
    if preset is not None:
        opts.update(preset.verify)
    else:
        opts["scheme"] = scheme
    opts.update(options)
    if isinstance(secret, bytes):
        secret = secret.decode("utf-8")
    opts["secrets"] = [secret] if isinstance(secret, str) else list(secret)
    verifier = build_verifier(opts, "verify")
    verifier.verify(_lower_headers(headers), body, time.time() if now is None else now)


def _lower_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased names; the same header given twice with different values is refused (which one was signed?)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        lower = str(name).lower()
        if lower in out and out[lower] != value:
            raise AuthenticationFailed(f"header {lower} given more than once")
        out[lower] = str(value)
    return out


# Register the built-in schemes.
from hookinbox.verifiers import apikey as _apikey  # noqa: E402,F401
from hookinbox.verifiers import github as _github  # noqa: E402,F401
from hookinbox.verifiers import hmac as _hmac  # noqa: E402,F401
from hookinbox.verifiers import shopify as _shopify  # noqa: E402,F401
from hookinbox.verifiers import slack as _slack  # noqa: E402,F401
from hookinbox.verifiers import standard_webhooks as _standard_webhooks  # noqa: E402,F401
from hookinbox.verifiers import stripe as _stripe  # noqa: E402,F401
