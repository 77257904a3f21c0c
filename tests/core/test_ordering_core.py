"""Reading an event's resource and place in time (hookinbox.ordering): pure, no store."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hookinbox.errors import ConfigurationError
from hookinbox.ordering import Ordering, parse_seq


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000, 1700000000.0),
        (12.5, 12.5),
        ("42", 42.0),
        (" 7.25 ", 7.25),
        ("2026-12-06T10:00:00Z", 1796551200.0),
        ("2026-12-06T10:00:00.250z", 1796551200.25),
        ("2026-12-06T11:00:00+01:00", 1796551200.0),
        ("2026-12-06T10:00:00", 1796551200.0),  # no zone: UTC
        ("2026-12-06", 1796515200.0),
    ],
)
def test_parse_seq(value: Any, expected: float) -> None:
    assert parse_seq(value) == expected


@pytest.mark.parametrize("value", [None, True, False, "", "  ", "soon", math.nan, math.inf, "nan", "-inf", {}, []])
def test_parse_seq_refuses(value: Any) -> None:
    assert parse_seq(value) is None


def test_place_reads_paths_and_headers() -> None:
    o = Ordering.from_options("data.object.id", "header:X-Triggered-At", "skip", None, "endpoints.x")
    body = {"data": {"object": {"id": "prod_1"}}}
    assert o.place(body, {"x-triggered-at": "2026-12-06T10:00:00Z"}) == ("prod_1", 1796551200.0)
    assert o.place(body, {}) is None  # no time: unordered
    assert o.place({"data": {"object": {"id": {"nested": 1}}}}, {"x-triggered-at": "1"}) is None
    assert o.place({"data": {"object": {"id": "x" * 256}}}, {"x-triggered-at": "1"}) is None
    assert o.place({"data": {"object": {"id": "a\ud800"}}}, {"x-triggered-at": "1"}) is None
    assert o.place({"data": {"object": {"id": True}}}, {"x-triggered-at": "1"}) is None
    assert o.place({"data": {"object": {"id": 17}}}, {"x-triggered-at": "1"}) == ("17", 1.0)


def test_defaults_and_mistakes() -> None:
    o = Ordering.from_options("data.object.id", None, "skip", "created", "endpoints.x")
    assert (o.key, o.seq, o.on_stale) == ("data.object.id", "created", "skip")
    with pytest.raises(ConfigurationError, match="order_seq"):
        Ordering.from_options("data.object.id", None, "skip", None, "endpoints.x")
    with pytest.raises(ConfigurationError, match="on_stale"):
        Ordering.from_options("data.object.id", "created", "maybe", None, "endpoints.x")
    with pytest.raises(ConfigurationError, match="order_by"):
        Ordering.from_options(["a"], "created", "skip", None, "endpoints.x")
