"""GitHub (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).

Options (``verify`` table)::

    scheme  = "github"
    secrets = ["...", "..."]        # the webhook secret(s); any one may match

``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``, keyed with the
secret as UTF-8. GitHub signs no timestamp, so there is no replay window:
a replayed delivery is caught by de-duplication on ``X-GitHub-Delivery``
(the preset's event id), which GitHub keeps on redeliveries. The legacy
SHA-1 ``X-Hub-Signature`` is not accepted.
"""

from __future__ import annotations

from typing import Any

from hookinbox.verifiers import Verifier, register_scheme
from hookinbox.verifiers._options import secret_list, take
from hookinbox.verifiers.hmac import HmacVerifier

HEADER = "x-hub-signature-256"


@register_scheme("github")
def _github(options: dict[str, Any], key: str) -> Verifier:
    take(options, {"secrets"}, key)
    return HmacVerifier(header=HEADER, secrets=secret_list(options, key), algorithm="sha256", prefix="sha256=")
