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

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from hookinbox.errors import ConfigurationError

__all__ = ["SCHEMES", "Verifier", "build_verifier", "register_scheme"]


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


def build_verifier(options: dict[str, Any], key: str) -> Verifier:
    """Build the verifier for an endpoint's ``verify`` table (``key`` names it in errors)."""
    scheme = options.get("scheme")
    if not isinstance(scheme, str):
        raise ConfigurationError(f"missing; one of {', '.join(sorted(SCHEMES))}", key=f"{key}.scheme")
    factory = SCHEMES.get(scheme.lower())
    if factory is None:
        raise ConfigurationError(f"unknown scheme {scheme!r}; one of {', '.join(sorted(SCHEMES))}", key=f"{key}.scheme")
    verifier = factory(options, key)
    if getattr(verifier, "scheme", None) is None:
        try:  # the scheme's name, for traces and logs (a verifier with __slots__ goes without)
            verifier.scheme = scheme.lower()  # type: ignore[attr-defined]
        except AttributeError:
            pass
    return verifier


# Register the built-in schemes.
from hookinbox.verifiers import apikey as _apikey  # noqa: E402,F401
from hookinbox.verifiers import github as _github  # noqa: E402,F401
from hookinbox.verifiers import hmac as _hmac  # noqa: E402,F401
from hookinbox.verifiers import shopify as _shopify  # noqa: E402,F401
from hookinbox.verifiers import slack as _slack  # noqa: E402,F401
from hookinbox.verifiers import standard_webhooks as _standard_webhooks  # noqa: E402,F401
from hookinbox.verifiers import stripe as _stripe  # noqa: E402,F401
