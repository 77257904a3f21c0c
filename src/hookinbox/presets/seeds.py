"""The five seed providers (``shared/seeds``), as their own webhook docs describe them."""

from __future__ import annotations

from hookinbox.presets._preset import Preset

_NIMBUS_ORDERS = Preset(
    name="nimbus-orders",
    provider="Nimbus OS orders API",
    doc="seeds/000: X-Webhook-Signature, hex HMAC-SHA256 of the raw body",
    verify={"scheme": "hmac-sha256", "header": "X-Webhook-Signature", "encoding": "hex"},
    envelope={"id": "id", "type": "type", "timestamp": "createdAt", "data": "data"},
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
    envelope={"id": None, "type": "event_name", "timestamp": None, "data": "event_data"},
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
    notes="Event ids are derived: SHA-256 of the raw body (see Envelope).",
)

_NOVAMED = Preset(
    name="novamed",
    provider="NovaMed",
    doc="seeds/002: x-api-key equals your webhook secret; {event_type, event_id, timestamp, clinic_id, data}",
    verify={"scheme": "api-key", "header": "x-api-key"},
    envelope={"id": "event_id", "type": "event_type", "timestamp": "timestamp", "data": "data"},
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
    envelope={"id": "id", "type": "type", "timestamp": "created_at", "data": "data"},
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
    envelope={"id": "id", "type": "type", "timestamp": "created_at", "data": "data"},
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


SEED_PRESETS: tuple[Preset, ...] = (_NIMBUS_ORDERS, _NIMBUS, _NOVAMED, _GENERIC, _CIMPLIFY)
