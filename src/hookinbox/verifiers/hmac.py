"""HMAC signatures over the raw body: ``hmac-sha256`` (and sha1, sha512).

Options (``verify`` table)::

    scheme    = "hmac-sha256"            # or hmac-sha1, hmac-sha512, or "hmac" with algorithm=
    header    = "X-Cimplify-Signature"
    encoding  = "hex"                    # or "base64"
    prefix    = "sha256="                # optional, stripped before comparing
    secrets   = ["...", "..."]           # any one may match (rotation)
    timestamp_header = "X-Timestamp"     # optional: sign "{timestamp}{separator}{body}"
    separator = "."                      # with timestamp_header
    tolerance = "5m"                     # with timestamp_header: reject older/newer deliveries

Every candidate secret is compared with :func:`hmac.compare_digest`, and all
are tried even after a match, so timing does not reveal which one matched
(:mod:`hookinbox.verifiers._signing` holds that loop and the replay window).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from hookinbox.errors import AuthenticationFailed, ConfigurationError
from hookinbox.verifiers import Verifier, register_scheme
from hookinbox.verifiers._options import header_name, secret_list, take
from hookinbox.verifiers._signing import (
    DEFAULT_TOLERANCE,
    any_match,
    check_timestamp,
    decode_base64,
    decode_hex,
    parse_timestamp,
    tolerance_option,
)

_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


class HmacVerifier:
    """HMAC of the exact received bytes (optionally prefixed by a signed timestamp)."""

    def __init__(
        self,
        *,
        header: str,
        secrets: list[bytes],
        algorithm: str = "sha256",
        encoding: str = "hex",
        prefix: str = "",
        timestamp_header: str | None = None,
        separator: str = ".",
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> None:
        self.header = header.lower()
        self.secrets = list(secrets)
        self.digestmod = _ALGORITHMS[algorithm]
        self.encoding = encoding
        self.prefix = prefix
        self.timestamp_header = timestamp_header.lower() if timestamp_header else None
        self.separator = separator.encode()
        self.tolerance = tolerance
        self.sensitive_headers: frozenset[str] = frozenset()

    def _decode(self, signature: str) -> bytes:
        if self.prefix:
            if not signature.startswith(self.prefix):
                raise AuthenticationFailed(f"signature in {self.header} lacks the {self.prefix!r} prefix")
            signature = signature[len(self.prefix) :]
        given = decode_hex(signature) if self.encoding == "hex" else decode_base64(signature)
        if given is None:
            raise AuthenticationFailed(f"signature in {self.header} is not {self.encoding}")
        return given

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        signature = headers.get(self.header)
        if not signature:
            raise AuthenticationFailed(f"missing {self.header} header")
        given = self._decode(signature)
        message = body
        sent: float | None = None
        if self.timestamp_header is not None:
            stamp = headers.get(self.timestamp_header)
            sent = parse_timestamp(stamp, self.timestamp_header)
            message = (stamp or "").encode() + self.separator + body
        if not any_match(self.secrets, message, [given], self.digestmod):
            raise AuthenticationFailed(f"signature in {self.header} does not match")
        if sent is not None and self.timestamp_header is not None:
            check_timestamp(sent, now, self.tolerance, self.timestamp_header)

    def headers_for(self, body: bytes, now: float) -> dict[str, str]:
        message = body
        out: dict[str, str] = {}
        if self.timestamp_header is not None:
            stamp = str(int(now))
            out[self.timestamp_header] = stamp
            message = stamp.encode() + self.separator + body
        digest = hmac.new(self.secrets[0], message, self.digestmod).digest()
        text = digest.hex() if self.encoding == "hex" else base64.b64encode(digest).decode()
        out[self.header] = self.prefix + text
        return out


_OPTIONS = {"header", "encoding", "prefix", "secrets", "algorithm", "timestamp_header", "separator", "tolerance"}


def _build(options: dict[str, Any], key: str, algorithm: str | None) -> Verifier:
    take(options, _OPTIONS, key)
    algo = str(options.get("algorithm", algorithm or "sha256")).lower()
    if algo not in _ALGORITHMS:
        raise ConfigurationError(f"unknown {algo!r}; one of sha1, sha256, sha512", key=f"{key}.algorithm")
    encoding = str(options.get("encoding", "hex")).lower()
    if encoding not in ("hex", "base64"):
        raise ConfigurationError(f"unknown {encoding!r}; 'hex' or 'base64'", key=f"{key}.encoding")
    tolerance = tolerance_option(options, key)
    return HmacVerifier(
        header=header_name(options, None, key),
        secrets=secret_list(options, key),
        algorithm=algo,
        encoding=encoding,
        prefix=str(options.get("prefix", "")),
        timestamp_header=options.get("timestamp_header"),
        separator=str(options.get("separator", ".")),
        tolerance=tolerance,
    )


@register_scheme("hmac")
def _hmac(options: dict[str, Any], key: str) -> Verifier:
    return _build(options, key, None)


@register_scheme("hmac-sha1")
def _hmac_sha1(options: dict[str, Any], key: str) -> Verifier:
    return _build(options, key, "sha1")


@register_scheme("hmac-sha256")
def _hmac_sha256(options: dict[str, Any], key: str) -> Verifier:
    return _build(options, key, "sha256")


@register_scheme("hmac-sha512")
def _hmac_sha512(options: dict[str, Any], key: str) -> Verifier:
    return _build(options, key, "sha512")


def sign(
    secret: str | bytes, body: bytes, *, algorithm: str = "sha256", encoding: str = "hex", prefix: str = ""
) -> str:
    """The header value a sender of this scheme would send (for tests and ``hookinbox send``)."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, body, _ALGORITHMS[algorithm]).digest()
    text = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    return prefix + text
