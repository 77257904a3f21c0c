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


# -- limits checked at receive time (issue 16, rows 4, 5, 12) ------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"id": "a\x00b", "type": "t"}, "event id contains a NUL"),
        ({"id": "x" * 256, "type": "t"}, "event id longer than 255"),
        ({"id": "a\ud800", "type": "t"}, "event id contains a lone surrogate"),
        ({"id": "ok", "type": "t\x00"}, "event type contains a NUL"),
        ({"id": "ok", "type": "t" * 256}, "event type longer than 255"),
        ({"id": "ok", "type": "\udfff"}, "event type contains a lone surrogate"),
    ],
)
def test_ids_and_types_a_store_cannot_keep_are_malformed(payload: dict[str, str], message: str) -> None:
    """NUL, a lone surrogate or more than 255 characters in an id or type: 400 malformed, with the reason."""
    m = EventMapping()
    with pytest.raises(MalformedPayload, match=message):
        m.event_id(payload, {}, b"{}", m.event_type(payload, {}))


def test_the_longest_storable_id_and_type_are_accepted() -> None:
    """Exactly 255 characters (any Unicode, emoji included) is within the limit."""
    m = EventMapping()
    payload = {"id": "\U0001f600" * 255, "type": "é" * 255}
    assert m.event_id(payload, {}, b"{}", m.event_type(payload, {})) == payload["id"]


def test_a_header_id_is_checked_too() -> None:
    """An id taken from a header obeys the same limits."""
    m = EventMapping(id_header="x-id")
    with pytest.raises(MalformedPayload, match="longer than 255"):
        m.event_id({}, {"x-id": "h" * 300}, b"{}", "t")


def test_a_timestamp_longer_than_64_characters_is_malformed() -> None:
    """The timestamp column holds 64 characters: a longer one is refused, not cut or failed in the store."""
    m = EventMapping(timestamp="created")
    assert m.event_timestamp({"created": "2026-12-06T20:00:00Z"}) == "2026-12-06T20:00:00Z"
    with pytest.raises(MalformedPayload, match="timestamp longer than 64"):
        m.event_timestamp({"created": "9" * 65})


@pytest.mark.parametrize("text", [b"1e999", b"-1e999", b"Infinity", b"-Infinity", b"NaN", b"1.5"])
def test_non_finite_or_fractional_numeric_ids_are_malformed(text: bytes) -> None:
    """An id that is NaN, infinite or has a fraction is refused (1e999 and Infinity are no longer one 'inf')."""
    payload = parse_object(b'{"id": ' + text + b', "type": "t"}')
    with pytest.raises(MalformedPayload, match="not a finite integer"):
        EventMapping().event_id(payload, {}, b"", "t")


@pytest.mark.parametrize(
    ("text", "expected"),
    [(b"42", "42"), (b"123456789012345678901234567890", "123456789012345678901234567890"), (b"1e3", "1000.0")],
)
def test_integral_numeric_ids_keep_their_text(text: bytes, expected: str) -> None:
    """Integers keep their exact digits (big ones too); an integral float keeps the text it always had."""
    payload = parse_object(b'{"id": ' + text + b', "type": "t"}')
    assert EventMapping().event_id(payload, {}, b"", "t") == expected


def _nested(depth: int) -> bytes:
    return b'{"a": ' * (depth - 1) + b'{"id": "x", "type": "t"}' + b"}" * (depth - 1)


def test_json_nested_up_to_the_limit_is_accepted_and_reloads() -> None:
    """MAX_JSON_DEPTH levels parse here and reload with the standard library (what a worker does)."""
    from hookinbox.envelope import MAX_JSON_DEPTH

    body = _nested(MAX_JSON_DEPTH)
    assert parse_object(body) == json.loads(body)


@pytest.mark.parametrize("depth", [101, 1000])
def test_json_nested_deeper_than_the_limit_is_malformed(depth: int) -> None:
    """One level over the limit is refused before the ack, whichever parser runs (orjson accepts 1,000)."""
    with pytest.raises(MalformedPayload, match="nested deeper than 100"):
        parse_object(_nested(depth))


def test_deep_arrays_are_counted_too() -> None:
    """Arrays count as levels like objects, also with a big integer (the standard-library path)."""
    body = b'{"id": 123456789012345678901234567890, "type": "t", "x": ' + b"[" * 150 + b"]" * 150 + b"}"
    with pytest.raises(MalformedPayload, match="nested deeper"):
        parse_object(body)
