"""A shared key in a header (``X-API-Key: <key>``), as Nimbus OS and NovaMed send.

Options::

    scheme  = "api-key"
    header  = "X-API-Key"
    secrets = ["...", "..."]     # any one may match; `keys` is accepted as a synonym

The header value is itself the credential, so it is marked sensitive: it is
never stored with the event and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from hookinbox.errors import AuthenticationFailed
from hookinbox.verifiers import Verifier, register_scheme
from hookinbox.verifiers._options import header_name, secret_list, take


class ApiKeyVerifier:
    """Constant-time comparison of a header with any of the configured keys."""

    def __init__(self, *, header: str, keys: list[bytes]) -> None:
        self.header = header.lower()
        # Compare digests so that the comparison time does not depend on the key length either.
        self._digests = [hashlib.sha256(k).digest() for k in keys]
        self._first = keys[0].decode("utf-8")
        self.sensitive_headers = frozenset({self.header})

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        given = headers.get(self.header)
        if not given:
            raise AuthenticationFailed(f"missing {self.header} header")
        digest = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
        matched = False
        for expected in self._digests:  # no early exit
            matched |= hmac.compare_digest(expected, digest)
        if not matched:
            raise AuthenticationFailed(f"{self.header} does not match")

    def headers_for(self, body: bytes, now: float) -> dict[str, str]:
        return {self.header: self._first}


@register_scheme("api-key", "apikey")
def _api_key(options: dict[str, Any], key: str) -> Verifier:
    take(options, {"header", "secrets", "keys"}, key)
    name = "keys" if "keys" in options and "secrets" not in options else "secrets"
    return ApiKeyVerifier(header=header_name(options, "X-API-Key", key), keys=secret_list(options, key, name=name))
