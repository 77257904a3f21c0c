"""Public providers on their own signature schemes (``hookinbox.verifiers.<scheme>``)."""

from __future__ import annotations

from typing import Any

from hookinbox.presets._preset import Preset

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
    envelope={"id_header": "webhook-id, svix-id", "type": "type", "timestamp": "timestamp", "data": "data"},
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
    envelope={"id_header": "svix-id, webhook-id", "type": "type", "timestamp": "timestamp", "data": "data"},
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
    envelope={"id": "id", "type": "type", "timestamp": "created", "data": "data.object"},
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
    envelope={
        "id": None,
        "type": None,
        "id_header": "x-github-delivery",
        "type_header": "x-github-event",
        "data": None,
    },
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
    envelope={
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
    envelope={"id": "event_id", "type": "event.type", "timestamp": "event_time", "data": "event"},
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


PUBLIC_PRESETS: tuple[Preset, ...] = (_STANDARD_WEBHOOKS, _SVIX, _STRIPE, _GITHUB, _SHOPIFY, _SLACK)
