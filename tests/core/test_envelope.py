"""Reading ids, types and data out of each provider's envelope."""

from __future__ import annotations

import hashlib
import json

import pytest

from hookinbox.envelope import EventMapping, lookup, parse_object
from hookinbox.errors import MalformedPayload
from hookinbox.presets import PRESETS


def test_lookup_follows_dotted_paths_through_dicts_and_lists() -> None:
    """Dotted paths reach nested keys and list indexes; a missing step gives the default."""
    obj = {"a": {"b": [{"c": 1}]}}
    assert lookup(obj, "a.b.0.c") == 1
    assert lookup(obj, "a.x", "d") == "d"
    assert lookup(obj, "a.b.5", None) is None


@pytest.mark.parametrize("body", [b"", b"not json", b"[1,2]", b'"str"', b"\xff\xfe", b"{" * 100_000])
def test_parse_object_refuses_anything_but_an_object(body: bytes) -> None:
    """Empty, invalid, non-object or absurdly nested bodies are MalformedPayload (400)."""
    with pytest.raises(MalformedPayload):
        parse_object(body)


def test_nimbus_events_without_id_get_the_body_hash() -> None:
    """Seed 001 sends no id: the id is the SHA-256 of the exact body, stable across retries."""
    m = EventMapping.from_options(PRESETS["nimbus"].event, "event")
    body = json.dumps(PRESETS["nimbus"].sample("medication:updated")).encode()
    payload = parse_object(body)
    expected = "sha256:" + hashlib.sha256(body).hexdigest()
    assert m.event_id(payload, {}, body, "medication:updated") == expected


def test_two_status_updates_of_one_order_are_two_events() -> None:
    """'filled' then 'shipped' of the same medication_order_id get different ids (never the bare order id)."""
    m = EventMapping.from_options(PRESETS["nimbus"].event, "event")
    sample = PRESETS["nimbus"].sample("medication:updated")
    filled = dict(sample, event_data=dict(sample["event_data"], status="filled", previous_status="submitted"))
    ids = set()
    for payload in (filled, sample):
        body = json.dumps(payload).encode()
        ids.add(m.event_id(payload, {}, body, "medication:updated"))
    assert len(ids) == 2


def test_id_template_with_fallback_when_a_field_is_missing() -> None:
    """A template renders from the payload; when a field is absent the body hash is used instead."""
    m = EventMapping(
        id=None,
        type="event_name",
        data="event_data",
        id_template="{event_name}:{event_data.medication_order_id}:{event_data.status}",
    )
    med = {"event_name": "medication:updated", "event_data": {"medication_order_id": "m1", "status": "filled"}}
    assert m.event_id(med, {}, b"x", "medication:updated") == "medication:updated:m1:filled"
    ship = {"event_name": "shipment:created", "event_data": {"shipment_id": "s1"}}
    assert m.event_id(ship, {}, b"y", "shipment:created") == "sha256:" + hashlib.sha256(b"y").hexdigest()


def test_id_template_per_event_type() -> None:
    """A table of type pattern -> template picks the template by event type."""
    m = EventMapping(
        id=None,
        type="event_name",
        id_template={"shipment:*": "{event_name}:{event_data.shipment_id}", "*": "{event_name}:{event_data.x}"},
    )
    ship = {"event_name": "shipment:created", "event_data": {"shipment_id": "s1"}}
    assert m.event_id(ship, {}, b"", "shipment:created") == "shipment:created:s1"


def test_canonical_json_derivation_ignores_key_order_and_spacing() -> None:
    """derive='json' gives one id for the same JSON serialised differently."""
    m = EventMapping(id=None, derive="json")
    a, b = {"x": 1, "y": [1, 2]}, {"y": [1, 2], "x": 1}
    assert m.event_id(a, {}, b"1", "t") == m.event_id(b, {}, b"2", "t")


def test_id_and_type_from_headers() -> None:
    """id_header and type_header read the delivery's headers (GitHub-style)."""
    m = EventMapping(id=None, type=None, id_header="x-delivery", type_header="x-event")
    headers = {"x-delivery": "d-1", "x-event": "push"}
    assert m.event_type({}, headers) == "push"
    assert m.event_id({}, headers, b"", "push") == "d-1"


@pytest.mark.parametrize(
    "payload",
    [{"type": "t"}, {"id": None, "type": "t"}, {"id": {"x": 1}, "type": "t"}, {"id": "e"}, {"id": "e", "type": 5}],
)
def test_missing_id_or_type_is_malformed(payload: dict[str, object]) -> None:
    """An envelope without a usable id or type is a 400, not a crash."""
    m = EventMapping()
    with pytest.raises(MalformedPayload):
        t = m.event_type(payload, {})
        m.event_id(payload, {}, b"", t)


def test_numeric_ids_become_strings() -> None:
    """A numeric id is kept as its string form."""
    assert EventMapping().event_id({"id": 42, "type": "t"}, {}, b"", "t") == "42"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"id": 123456789012345678901234567890, "type": "t"}', 123456789012345678901234567890),
        (b'{"id": NaN, "type": "t"}', "nan"),
        ('{"id": "é", "type": "t"}'.encode("utf-16"), "é"),
    ],
)
def test_accepted_bodies_do_not_depend_on_the_speed_extra(body: bytes, expected: object) -> None:
    """Bodies the fast parser refuses (huge ints, NaN, UTF-16) are still parsed as the standard library does."""
    got = parse_object(body)["id"]
    assert (str(got) == "nan") if expected == "nan" else got == expected
