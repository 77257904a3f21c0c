"""The settings examples in docs/schemes.md are valid settings."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from hookinbox.settings import Settings
from hookinbox.verifiers.tenant import TenantVerifier

DOC = Path(__file__).resolve().parents[2] / "docs" / "schemes.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


class AnySecret(dict[str, str]):
    """Every ${VAR} resolves to a whsec_ secret, valid for every scheme."""

    def get(self, key: str, default: str | None = None) -> str:  # type: ignore[override]
        return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_the_doc_has_examples_for_every_scheme() -> None:
    """docs/schemes.md shows a settings example naming each built-in scheme or its preset."""
    text = "\n".join(BLOCKS)
    for name in ("hmac-sha256", "hmac-sha512", "api-key", "standard-webhooks", "stripe", "github", "shopify", "slack"):
        assert f'"{name}"' in text, name


@pytest.mark.parametrize("block", [b for b in BLOCKS if "[endpoints." in b])
def test_doc_settings_example_builds(block: str) -> None:
    """Each complete TOML example in docs/schemes.md builds valid Settings."""
    settings = Settings.from_dict(tomllib.loads(block), env=AnySecret())
    for endpoint in settings.endpoints.values():
        verifier = endpoint.verifier
        if isinstance(verifier, TenantVerifier):  # per-tenant secrets: the scheme's verifier with one tenant's secret
            verifier = verifier.for_secrets([AnySecret().get("")])
        headers = verifier.headers_for(b"{}", 1_700_000_000.0)
        verifier.verify({k.lower(): v for k, v in headers.items()}, b"{}", 1_700_000_000.0)
