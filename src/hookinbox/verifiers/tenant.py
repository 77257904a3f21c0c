"""Per-tenant secrets: verify each delivery with the secrets of the account that sent it.

A platform that receives from many accounts (every Shopify custom app per store, a Stripe
platform with an endpoint per connected account, a SaaS whose customers sign with their own
keys) keeps one secret per account. An endpoint names a resolver instead of a secret::

    [endpoints.shopify]
    path = "/webhooks/shopify"
    preset = "shopify"
    secret_resolver = "myapp.secrets:for_shop"    # sync or async
    secret_cache_ttl = "60s"                      # default 60 s
    # tenant_header = "x-tenant-id"               # for schemes without a built-in account id

    def for_shop(headers: Mapping[str, str], tenant: str | None) -> str | list[str] | None: ...

The resolver gets the request headers (lower-cased names) and the **unverified** tenant id:
``X-Shopify-Shop-Domain`` for ``shopify``, the top-level ``account`` of the JSON body for
``stripe`` (Connect), ``X-GitHub-Hook-Installation-Target-ID`` for ``github``, the
``tenant_header`` for any scheme, else None. The id only chooses which secrets to try; nothing
else trusts it (the event is recorded only if a returned secret verifies the signature). It
returns the secret, or a list of them during a rotation (``[new, old]``: any may match), or None
for an unknown tenant.

Outcomes: an unknown tenant (None or an empty list) is ``401``; a resolver that raises is
``503`` with ``Retry-After`` (the sender retries, and a later try may find the secret). Results
are cached per tenant for ``secret_cache_ttl`` (unknown tenants are not cached, so a new
account is accepted as soon as the resolver knows it). The secrets are never logged: only the
tenant id and the resolver's exception class are.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from hookinbox.drive import Call, Flow, is_async_callable, run_sync
from hookinbox.errors import AuthenticationFailed, ConfigurationError, SecretUnavailable
from hookinbox.units import parse_duration
from hookinbox.verifiers import Verifier, build_verifier
from hookinbox.verifiers._options import secret_problem

__all__ = ["PROBE_SECRET", "TENANT_HEADERS", "Resolver", "TenantVerifier"]

log = logging.getLogger("hookinbox")

#: (headers, unverified tenant id) -> a secret, a list of secrets, or None (unknown tenant)
Resolver = Callable[[Mapping[str, str], "str | None"], Any]

#: the header that names the sending account, per scheme
TENANT_HEADERS = {"shopify": "x-shopify-shop-domain", "github": "x-github-hook-installation-target-id"}

#: a stand-in secret: the scheme's options are checked at start-up with it, never verified against
PROBE_SECRET = "hookinbox-secret-resolver-probe"

#: tenant ids longer than this are not ids (and are not used as cache keys or logged whole)
_MAX_TENANT = 255


def stripe_account(body: bytes) -> str | None:
    """The top-level ``account`` of a Stripe event (Connect), read before verification."""
    if b'"account"' not in body:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    account = payload.get("account") if isinstance(payload, dict) else None
    return account if isinstance(account, str) else None


class TenantVerifier:
    """Resolves the secrets of the delivery's tenant (cached), then verifies with the scheme's verifier.

    :meth:`resolve` is a flow (see :mod:`hookinbox.drive`): the resolver call is yielded to the
    driver, so an async resolver is awaited on the event loop and a sync one runs in a thread, never
    blocking the loop. :meth:`verify` runs that flow in the calling thread.
    """

    def __init__(
        self,
        *,
        scheme: str,
        options: Mapping[str, Any],
        resolver: str | Resolver,
        ttl: float = 60.0,
        tenant_header: str | None = None,
        key: str = "verify",
        max_tenants: int = 10_000,
    ) -> None:
        self.scheme = scheme
        self._options = {k: v for k, v in options.items() if k != "secrets"}
        prefix = self._options.get("prefix")
        self._prefixes = [prefix] if isinstance(prefix, str) else []
        self._key = key
        self.ttl = ttl
        self.max_tenants = max_tenants
        probe = self.for_secrets([PROBE_SECRET])  # the scheme's options are checked now, not at the first delivery
        self.sensitive_headers: frozenset[str] = probe.sensitive_headers
        handshake = getattr(probe, "handshake", None)
        if handshake is not None:  # e.g. Slack's url_verification, which needs no secret
            self.handshake = handshake
        self.tenant_header = tenant_header.lower() if tenant_header else TENANT_HEADERS.get(scheme)
        self._ref = resolver
        self._resolver: Resolver | None = None if isinstance(resolver, str) else resolver
        self._cache: dict[str | None, tuple[float, Verifier]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any], options: Mapping[str, Any], scheme: str, key: str) -> TenantVerifier:
        """From an endpoint's table: ``secret_resolver``, ``secret_cache_ttl``, ``tenant_header``."""
        ref = raw["secret_resolver"]
        if not (callable(ref) or (isinstance(ref, str) and ":" in ref)):
            raise ConfigurationError('expected "module:function" or a callable', key=f"{key}.secret_resolver")
        try:
            ttl = parse_duration(raw.get("secret_cache_ttl", 60.0))
        except ValueError as exc:
            raise ConfigurationError(str(exc), key=f"{key}.secret_cache_ttl") from None
        header = raw.get("tenant_header")
        if header is not None and (not isinstance(header, str) or not header.strip()):
            raise ConfigurationError("expected a header name", key=f"{key}.tenant_header")
        return cls(scheme=scheme, options=options, resolver=ref, ttl=ttl, tenant_header=header, key=f"{key}.verify")

    # -- the tenant -------------------------------------------------------------------------------

    def tenant_of(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """The unverified tenant id of a delivery (only ever used to choose the secrets)."""
        tenant: str | None
        if self.tenant_header is not None:
            tenant = headers.get(self.tenant_header) or None
        elif self.scheme == "stripe":
            tenant = stripe_account(body)
        else:
            tenant = None
        if tenant is not None and len(tenant) > _MAX_TENANT:
            return None
        return tenant

    # -- resolving --------------------------------------------------------------------------------

    def for_secrets(self, secrets: list[str]) -> Verifier:
        """The scheme's verifier with these secrets (also how tests and senders sign for one tenant)."""
        return build_verifier({**self._options, "secrets": list(secrets)}, self._key)

    def load(self) -> Resolver:
        """The resolver, imported on first use (``hookinbox check`` calls this to import it early)."""
        fn = self._resolver
        if fn is None:
            fn = self._resolver = _import(str(self._ref), self._key.rsplit(".", 1)[0] + ".secret_resolver")
        return fn

    def resolve(self, headers: Mapping[str, str], body: bytes, now: float) -> Flow[Verifier]:
        """The verifier for this delivery's tenant: cached, or built from what the resolver returns."""
        tenant = self.tenant_of(headers, body)
        hit = self._cache.get(tenant)
        if hit is not None and hit[0] > now:
            return hit[1]
        fn = self.load()
        try:
            got = yield Call(fn, headers, tenant, blocking=not is_async_callable(fn))
        except Exception as exc:  # never the message: it could quote a secret or a connection URL
            log.warning(
                "secret resolver failed for tenant %r (%s); answered 503 so the sender retries",
                tenant,
                type(exc).__name__,
            )
            raise SecretUnavailable("the secret for this sender could not be looked up") from None
        secrets = _secret_list(got)
        if secrets is None:
            log.error(
                "secret resolver returned a %s for tenant %r; expected str, list or None", type(got).__name__, tenant
            )
            raise SecretUnavailable("the secret for this sender could not be looked up")
        unusable = [problem for secret in secrets if (problem := secret_problem(secret, self._prefixes))]
        if unusable:  # "whsec_" alone would let anyone sign: dropped, and said (never the value)
            log.error("secret resolver returned an unusable secret for tenant %r (%s); ignored", tenant, unusable[0])
            secrets = [secret for secret in secrets if not secret_problem(secret, self._prefixes)]
        if not secrets:
            log.info("no secret for tenant %r: unknown sender", tenant)
            raise AuthenticationFailed("no secret for this sender")
        verifier = self.for_secrets(secrets)
        with self._lock:
            if len(self._cache) >= self.max_tenants:
                self._cache = {t: e for t, e in self._cache.items() if e[0] > now}
                if len(self._cache) >= self.max_tenants:
                    self._cache.clear()
            self._cache[tenant] = (now + self.ttl, verifier)
        return verifier

    def forget(self, tenant: str | None = None) -> None:
        """Drop the cached secrets of ``tenant`` (all tenants when None): after a rotation, say."""
        with self._lock:
            if tenant is None:
                self._cache.clear()
            else:
                self._cache.pop(tenant, None)

    # -- the Verifier protocol --------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        """Resolve in the calling thread (an async resolver on a per-thread loop), then verify."""
        run_sync(self.resolve(headers, body, now)).verify(headers, body, now)

    def headers_for(self, body: bytes, now: float) -> dict[str, str]:
        raise ConfigurationError(
            "this endpoint has no fixed secret (secret_resolver); sign with verifier.for_secrets([secret])"
        )


def _import(ref: str, key: str) -> Resolver:
    module_name, _, attr = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import {module_name!r} for secret resolver {ref!r}: {exc}", key=key) from None
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ConfigurationError(f"{module_name!r} has no {attr!r} (secret resolver {ref!r})", key=key)
    if not callable(obj):
        raise ConfigurationError(f"secret resolver {ref!r} is not callable", key=key)
    return obj  # type: ignore[no-any-return]


def _secret_list(got: Any) -> list[str] | None:
    """The resolver's answer as a list of non-empty secrets ([] for unknown); None when malformed."""
    if got is None:
        return []
    items = [got] if isinstance(got, str | bytes) else got
    if not isinstance(items, list | tuple):
        return None
    out: list[str] = []
    for item in items:
        if isinstance(item, bytes):
            item = item.decode("utf-8")
        if not isinstance(item, str):
            return None
        if item:
            out.append(item)
    return out
