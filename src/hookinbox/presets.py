"""Presets: one per provider, filled in from the provider's own webhook docs.

A preset supplies an endpoint's ``verify`` and ``event`` tables, so that a
user only adds the secret::

    [endpoints.pharmacy]
    path = "/webhooks/nimbus"
    preset = "nimbus"
    secret = "${NIMBUS_API_KEY}"

Secrets have one name for every preset and scheme: ``secret`` (one) or
``secrets`` (several, for rotation), whether the scheme is an HMAC key or an
API key compared with a header. ``api_key`` / ``api_keys`` are accepted as
synonyms on API-key presets, because that is what those providers call them.

Each preset also records the provider's documented ack budget and retry
schedule (used to check that ``dedup_ttl`` outlives the retries) and the
example payloads from its docs (used by ``hookinbox send``, the demo and the
test-suite).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    name: str
    provider: str
    doc: str
    verify: dict[str, Any]
    event: dict[str, Any]
    #: seconds within which the provider wants a 2xx
    ack_budget: float
    #: delays between the provider's delivery attempts, in seconds
    retry_schedule: tuple[float, ...]
    #: the environment variable the docs and examples use for the secret
    secret_env: str
    samples: tuple[dict[str, Any], ...] = field(default=())
    notes: str = ""
    #: for providers that put the event id or type in headers: the headers sent with each
    #: sample (same order as ``samples``), signature headers excluded
    sample_headers: tuple[dict[str, str], ...] = field(default=())

    @property
    def retry_horizon(self) -> float:
        """Seconds from the first attempt to the last retry."""
        return float(sum(self.retry_schedule))

    def sample(self, event_type: str | None = None) -> dict[str, Any]:
        """The doc's example payload for ``event_type`` (the first one when None)."""
        import copy

        for s in self.samples:
            if event_type is None or self.event_type_of(s) == event_type:
                return copy.deepcopy(s)
        raise KeyError(event_type)

    def event_type_of(self, payload: dict[str, Any], headers: dict[str, str] | None = None) -> str:
        from hookinbox.envelope import lookup

        header = self.event.get("type_header")
        if header:
            sent = {k.lower(): v for k, v in (self.headers_of(payload) if headers is None else headers).items()}
            return str(sent.get(str(header).lower(), ""))
        return str(lookup(payload, self.event.get("type") or "type"))

    def headers_of(self, payload: dict[str, Any]) -> dict[str, str]:
        """The (non-signature) headers the provider sends with a sample payload; ``{}`` if none."""
        for sample, headers in zip(self.samples, self.sample_headers, strict=False):
            if sample == payload:
                return dict(headers)
        return {}

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(self.event_type_of(s) for s in self.samples)


_NIMBUS_ORDERS = Preset(
    name="nimbus-orders",
    provider="Nimbus OS orders API",
    doc="seeds/000: X-Webhook-Signature, hex HMAC-SHA256 of the raw body",
    verify={"scheme": "hmac-sha256", "header": "X-Webhook-Signature", "encoding": "hex"},
    event={"id": "id", "type": "type", "timestamp": "createdAt", "data": "data"},
    ack_budget=10.0,
    # 1 s, 2, 4, 8 ... 5 attempts over ~24 h: the horizon is the documented 24 h.
    retry_schedule=(1.0, 2.0, 4.0, 8.0, 86400.0),
    secret_env="NIMBUS_WEBHOOK_SECRET",
    samples=(
        {
            "id": "evt_1234567890",
            "type": "order.created",
            "createdAt": "2025-01-15T10:30:00Z",
            "data": {
                "orderId": "ord_abc123xyz",
                "patientId": "pat_1234567890",
                "prescriptionId": "rx_9876543210",
                "status": "pending",
            },
        },
        {
            "id": "evt_1234567891",
            "type": "order.fulfilled",
            "createdAt": "2025-01-15T14:22:00Z",
            "data": {
                "orderId": "ord_abc123xyz",
                "trackingNumber": "1Z999AA10123456784",
                "estimatedDeliveryDate": "2025-01-18",
            },
        },
        {
            "id": "evt_1234567892",
            "type": "refill.ready",
            "createdAt": "2025-01-15T10:30:00Z",
            "data": {"refillId": "ref_abc123xyz", "prescriptionId": "rx_9876543210", "status": "approved"},
        },
    ),
)

_NIMBUS = Preset(
    name="nimbus",
    provider="Nimbus OS pharmacy external API",
    doc="seeds/001: X-API-Key equals your API key; {event_name, event_data}, no event id",
    verify={"scheme": "api-key", "header": "X-API-Key"},
    # No id: derive it from the exact body (a retry resends the same bytes). Never the bare
    # medication_order_id the doc suggests: "filled" then "shipped" of one order are two events.
    event={"id": None, "type": "event_name", "timestamp": None, "data": "event_data"},
    ack_budget=5.0,
    retry_schedule=(60.0, 300.0, 900.0, 3600.0),
    secret_env="NIMBUS_API_KEY",
    samples=(
        {
            "event_name": "shipment:created",
            "event_data": {
                "shipment_id": "550e8400-e29b-41d4-a716-446655440000",
                "medication_orders": ["660e8400-e29b-41d4-a716-446655440001", "770e8400-e29b-41d4-a716-446655440002"],
                "shipment_status": "pending",
                "shipped_at": "2024-01-15T10:00:00.000Z",
                "tracking_number": "1Z999AA10123456784",
                "tracking_url": "https://tracking.example.com/1Z999AA10123456784",
                "shipping_partner": "FedEx",
                "delivery_method": "next-day",
                "delivery_location": {
                    "address": "456 Oak Ave",
                    "city": "Austin",
                    "state": "TX",
                    "postal_code": "78702",
                },
                "notes": "Signature required",
                "barcode_url": "https://example.com/barcode.png",
                "shipping_label": "https://example.com/label.pdf",
            },
        },
        {
            "event_name": "shipment:cancelled",
            "event_data": {
                "shipment_id": "550e8400-e29b-41d4-a716-446655440000",
                "medication_orders": ["660e8400-e29b-41d4-a716-446655440001"],
                "cancellation_reason": "Patient request",
                "cancelled_at": "2024-01-15T11:00:00.000Z",
            },
        },
        {
            "event_name": "medication:updated",
            "event_data": {
                "medication_order_id": "880e8400-e29b-41d4-a716-446655440003",
                "prescription_id": "990e8400-e29b-41d4-a716-446655440004",
                "medication_request_id": "aa0e8400-e29b-41d4-a716-446655440005",
                "status": "shipped",
                "previous_status": "filled",
                "updated_at": "2024-01-15T10:30:00.000Z",
                "pharmetika_status": "shipped",
                "tracking_number": "1Z999AA10123456784",
                "notes": "Out for delivery",
            },
        },
    ),
    notes="Event ids are derived: SHA-256 of the raw body (see EventMapping).",
)

_NOVAMED = Preset(
    name="novamed",
    provider="NovaMed",
    doc="seeds/002: x-api-key equals your webhook secret; {event_type, event_id, timestamp, clinic_id, data}",
    verify={"scheme": "api-key", "header": "x-api-key"},
    event={"id": "event_id", "type": "event_type", "timestamp": "timestamp", "data": "data"},
    ack_budget=5.0,
    retry_schedule=(0.0, 60.0, 300.0, 900.0, 3600.0),
    secret_env="NOVAMED_WEBHOOK_SECRET",
    samples=(
        {
            "event_type": "order:shipped",
            "event_id": "evt_abc123xyz",
            "timestamp": "2025-01-15T10:30:00.000Z",
            "clinic_id": "550e8400-e29b-41d4-a716-446655440000",
            "data": {
                "order_id": "ord_12345",
                "patient_id": "pat_67890",
                "medication_request_id": "med_req_11111",
                "tracking_number": "1Z999AA10123456784",
                "carrier": "UPS",
                "estimated_delivery": "2025-01-18",
                "shipping_address": {
                    "line1": "123 Main Street",
                    "city": "San Francisco",
                    "state": "CA",
                    "zip": "94102",
                },
            },
        },
        {
            "event_type": "medication_request:approved",
            "event_id": "evt_def456xyz",
            "timestamp": "2025-01-15T09:00:00.000Z",
            "clinic_id": "550e8400-e29b-41d4-a716-446655440000",
            "data": {
                "medication_request_id": "med_req_11111",
                "patient_id": "pat_67890",
                "practitioner_id": "prac_22222",
                "medication_name": "Testosterone Cypionate",
                "quantity": 1,
                "refills": 3,
                "approved_at": "2025-01-15T09:00:00.000Z",
            },
        },
    ),
)

_GENERIC = Preset(
    name="generic",
    provider="generic v1 webhooks API",
    doc="seeds/003: X-Webhook-Signature, hex HMAC-SHA256; {id, type, created_at, data}",
    # The doc signs JSON.stringify(req.body), a re-serialisation; we verify the exact bytes
    # received, which is what the sender signed before sending. The whsec_ secret is used
    # as-is (the doc's createHmac takes the whole string), not base64-decoded.
    verify={"scheme": "hmac-sha256", "header": "X-Webhook-Signature", "encoding": "hex"},
    event={"id": "id", "type": "type", "timestamp": "created_at", "data": "data"},
    ack_budget=5.0,
    retry_schedule=(0.0, 30.0, 300.0, 1800.0, 7200.0),
    secret_env="WEBHOOK_SECRET",
    samples=(
        {
            "id": "evt_abc123",
            "type": "user.created",
            "created_at": "2026-01-15T12:30:00Z",
            "data": {"id": "user_123", "name": "John Doe", "email": "john@example.com", "status": "active"},
        },
    ),
)

_CIMPLIFY = Preset(
    name="cimplify",
    provider="Cimplify",
    doc="seeds/004: X-Cimplify-Signature, hex HMAC-SHA256 of the body; {id, type, created_at, data}",
    verify={"scheme": "hmac-sha256", "header": "X-Cimplify-Signature", "encoding": "hex"},
    event={"id": "id", "type": "type", "timestamp": "created_at", "data": "data"},
    ack_budget=30.0,
    retry_schedule=(60.0, 300.0, 1800.0),
    secret_env="CIMPLIFY_WEBHOOK_SECRET",
    samples=(
        {
            "id": "evt_abc123",
            "type": "order.created",
            "created_at": "2024-01-15T10:30:00Z",
            "data": {
                "order_id": "ord_xyz789",
                "business_id": "biz_123",
                "status": "confirmed",
                "total": "29.99",
                "currency": "GHS",
            },
        },
    ),
)

# -- public providers on their own signature schemes (hookinbox.verifiers.<scheme>) ------------

# The example envelope of the Standard Webhooks spec; Svix senders use the same shape.
_STANDARD_SAMPLES: tuple[dict[str, Any], ...] = (
    {
        "type": "contact.created",
        "timestamp": "2022-11-03T20:26:10.344522Z",
        "data": {"id": "1f81eb52-5198-4599-803e-771906343485", "type": "contact"},
    },
)

_STANDARD_WEBHOOKS = Preset(
    name="standard-webhooks",
    provider="Standard Webhooks sender",
    doc="standardwebhooks.com spec: webhook-id/-timestamp/-signature `v1,<base64>`, whsec_ base64 secret",
    verify={"scheme": "standard-webhooks"},
    event={"id_header": "webhook-id, svix-id", "type": "type", "timestamp": "timestamp", "data": "data"},
    ack_budget=15.0,
    # The spec leaves the schedule to the sender; this is the reference one Svix publishes.
    retry_schedule=(0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0),
    secret_env="WEBHOOK_SECRET",
    samples=_STANDARD_SAMPLES,
    notes="The event id is the webhook-id header, which a retry keeps.",
)

_SVIX = Preset(
    name="svix",
    provider="Svix",
    doc="docs.svix.com: svix-id/-timestamp/-signature (= Standard Webhooks); 2xx within 15 s",
    verify={"scheme": "svix"},
    event={"id_header": "svix-id, webhook-id", "type": "type", "timestamp": "timestamp", "data": "data"},
    ack_budget=15.0,
    # Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (docs.svix.com/retries).
    retry_schedule=(0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0),
    secret_env="SVIX_WEBHOOK_SECRET",
    samples=_STANDARD_SAMPLES,
)

_STRIPE = Preset(
    name="stripe",
    provider="Stripe",
    doc="docs.stripe.com/webhooks: Stripe-Signature t=,v1= (hex HMAC-SHA256 of '{t}.{body}'); Event objects",
    verify={"scheme": "stripe"},
    event={"id": "id", "type": "type", "timestamp": "created", "data": "data.object"},
    # Stripe asks for a quick 2xx "prior to any complex logic" without a figure; 10 s is a safe budget.
    ack_budget=10.0,
    # Live mode: "for up to three days" with exponential backoff; Stripe does not publish the steps.
    retry_schedule=(3600.0, 7200.0, 14400.0, 28800.0, 57600.0, 86400.0, 61200.0),
    secret_env="STRIPE_WEBHOOK_SECRET",
    samples=(
        {
            "id": "evt_3MtwBwLkdIwHu7ix28a3tqPa",
            "object": "event",
            "api_version": "2022-11-15",
            "created": 1680064028,
            "type": "payment_intent.succeeded",
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {
                "object": {
                    "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
                    "object": "payment_intent",
                    "amount": 2000,
                    "amount_received": 2000,
                    "currency": "usd",
                    "status": "succeeded",
                }
            },
        },
        {
            "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
            "object": "event",
            "api_version": "2019-02-19",
            "created": 1686089970,
            "type": "setup_intent.created",
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None},
            "data": {
                "object": {
                    "id": "seti_1NG8Du2eZvKYlo2C9XMqbR0x",
                    "object": "setup_intent",
                    "status": "requires_confirmation",
                    "usage": "off_session",
                }
            },
        },
    ),
    notes="Stripe does not guarantee order; re-fetch the object when order matters.",
)

_GITHUB = Preset(
    name="github",
    provider="GitHub",
    doc="docs.github.com webhooks: X-Hub-Signature-256 sha256=<hex>; X-GitHub-Delivery id; X-GitHub-Event type",
    verify={"scheme": "github"},
    # The type is the X-GitHub-Event header ("push", "issues"); the payload's "action" refines it.
    event={"id": None, "type": None, "id_header": "x-github-delivery", "type_header": "x-github-event", "data": None},
    ack_budget=10.0,
    # GitHub does not retry a failed delivery; it can be redelivered by hand (same X-GitHub-Delivery).
    retry_schedule=(),
    secret_env="GITHUB_WEBHOOK_SECRET",
    samples=(
        {
            "zen": "Design for failure.",
            "hook_id": 123456,
            "hook": {"type": "Repository", "id": 123456, "name": "web", "active": True, "events": ["push"]},
            "repository": {"id": 1296269, "name": "Hello-World", "full_name": "octocat/Hello-World"},
            "sender": {"login": "octocat", "id": 1},
        },
        {
            "ref": "refs/heads/main",
            "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            "repository": {"id": 1296269, "name": "Hello-World", "full_name": "octocat/Hello-World"},
            "pusher": {"name": "octocat", "email": "octocat@github.com"},
            "sender": {"login": "octocat", "id": 1},
            "commits": [],
        },
    ),
    sample_headers=(
        {
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "X-GitHub-Hook-ID": "123456",
        },
        {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "8f2e6b1c-3a5d-11ee-9a6b-0242ac120002",
            "X-GitHub-Hook-ID": "123456",
        },
    ),
    notes="No automatic retries: after a 5xx or a timeout the delivery is lost until redelivered by hand.",
)

_SHOPIFY = Preset(
    name="shopify",
    provider="Shopify",
    doc="shopify.dev webhooks: base64 X-Shopify-Hmac-Sha256; X-Shopify-Webhook-Id; X-Shopify-Topic",
    verify={"scheme": "shopify"},
    event={
        "id": None,
        "type": None,
        "id_header": "x-shopify-webhook-id",
        "type_header": "x-shopify-topic",
        "data": None,
    },
    # 1 s to connect, 5 s in all.
    ack_budget=5.0,
    # "8 times over 4 hours" with exponential backoff (changelog 2024-09-10); the steps are not published.
    retry_schedule=(30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 7590.0),
    secret_env="SHOPIFY_CLIENT_SECRET",
    samples=(
        {
            "id": 820982911946154508,
            "email": "jon@example.com",
            "created_at": "2021-12-31T19:00:00-05:00",
            "currency": "USD",
            "total_price": "403.00",
            "financial_status": "paid",
            "name": "#9999",
            "line_items": [{"id": 866550311766439020, "title": "IPod Nano - 8GB", "quantity": 1, "price": "199.00"}],
        },
        {
            "id": 788032119674292922,
            "title": "Example T-Shirt",
            "vendor": "Acme",
            "product_type": "Shirts",
            "created_at": "2021-12-31T19:00:00-05:00",
            "status": "active",
        },
    ),
    sample_headers=(
        {
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            "X-Shopify-Shop-Domain": "example.myshopify.com",
            "X-Shopify-API-Version": "2024-07",
            "X-Shopify-Triggered-At": "2023-03-29T18:00:27.877041743Z",
        },
        {
            "X-Shopify-Topic": "products/update",
            "X-Shopify-Webhook-Id": "1b2e3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d",
            "X-Shopify-Shop-Domain": "example.myshopify.com",
            "X-Shopify-API-Version": "2024-07",
            "X-Shopify-Triggered-At": "2023-03-29T18:05:12.000000000Z",
        },
    ),
    notes="Retries keep the original payload; X-Shopify-Triggered-At tells a stale retry.",
)

_SLACK = Preset(
    name="slack",
    provider="Slack Events API",
    doc="api.slack.com: X-Slack-Signature v0=<hex> of 'v0:{ts}:{body}'; event_callback envelope; 2xx within 3 s",
    verify={"scheme": "slack"},
    event={"id": "event_id", "type": "event.type", "timestamp": "event_time", "data": "event"},
    ack_budget=3.0,
    # Immediately, after 1 minute, after 5 minutes (X-Slack-Retry-Num 1..3).
    retry_schedule=(0.0, 60.0, 300.0),
    secret_env="SLACK_SIGNING_SECRET",
    samples=(
        {
            "token": "XXYYZZ",
            "team_id": "T123ABC456",
            "api_app_id": "A123ABC456",
            "event": {
                "type": "app_mention",
                "user": "U123ABC456",
                "text": "<@U0LAN0Z89> is it everything a river should be?",
                "ts": "1515449522.000016",
                "channel": "C123ABC456",
                "event_ts": "1515449522.000016",
            },
            "type": "event_callback",
            "event_id": "Ev123ABC456",
            "event_time": 1515449522,
            "authed_users": ["U0LAN0Z89"],
        },
        {
            "token": "XXYYZZ",
            "team_id": "T123ABC456",
            "api_app_id": "A123ABC456",
            "event": {
                "type": "reaction_added",
                "user": "U123ABC456",
                "reaction": "thumbsup",
                "item_user": "U222222222",
                "item": {"type": "message", "channel": "C123ABC456", "ts": "1360782400.498405"},
                "event_ts": "1360782804.083113",
            },
            "type": "event_callback",
            "event_id": "Ev987XYZ654",
            "event_time": 1360782804,
        },
    ),
    notes="url_verification is answered with its challenge and app_rate_limited acknowledged; neither is recorded.",
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _NIMBUS_ORDERS,
        _NIMBUS,
        _NOVAMED,
        _GENERIC,
        _CIMPLIFY,
        _STANDARD_WEBHOOKS,
        _SVIX,
        _STRIPE,
        _GITHUB,
        _SHOPIFY,
        _SLACK,
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ``KeyError`` lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; one of {', '.join(sorted(PRESETS))}") from None
