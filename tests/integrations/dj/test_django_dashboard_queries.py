"""The dashboard's store queries on the Django store (SQLite here): the same checks as tests/stores."""

from __future__ import annotations

from typing import Any

import pytest
from tests.stores import test_dashboard_queries as q

from hookinbox.django.store import DjangoStore

DJANGO = ("django://", {})


@pytest.fixture
def store() -> Any:
    return DjangoStore("default")


def test_is_inspectable(store: Any) -> None:
    """The Django store has the dashboard's queries."""
    from hookinbox.stores._query import Inspectable

    assert isinstance(store, Inspectable)


def test_keyset_pages_with_ties(store: Any) -> None:
    """Pages after a cursor continue exactly where the last one stopped, ties included."""
    q.test_keyset_pages_with_ties(store, DJANGO)


def test_filters_and_count(store: Any) -> None:
    """Every filter, across pages; count agrees."""
    q.test_filters_and_count(store, DJANGO)


def test_timeline_counts_per_minute(store: Any) -> None:
    """The per-minute timeline of received, handled and failed events."""
    q.test_timeline_counts_per_minute(store)


def test_oldest_pending(store: Any) -> None:
    """The oldest pending event per endpoint."""
    q.test_oldest_pending(store)


def test_discard_dead(store: Any) -> None:
    """discard_dead deletes a dead event only."""
    q.test_discard_dead(store)


def test_keyset_paging_over_many_events(store: Any) -> None:
    """20,000 events (bulk-created): keyset pages visit each exactly once, newest first."""
    from hookinbox.django.models import InboxEvent

    records = [q.rec(f"evt_{i:06d}", endpoint=("shop", "billing")[i % 2], t=q.T0 + i // 2) for i in range(20_000)]
    InboxEvent.objects.bulk_create(
        [
            InboxEvent(endpoint=r.endpoint, event_id=r.id, type=r.type, status="pending", received_at=r.received_at,
                       updated_at=r.received_at, headers=r.headers, body=r.body)
            for r in records
        ],
        batch_size=2_000,
    )  # fmt: skip
    assert store.count() == 20_000
    assert q.keys(q.walk(store, 3_000)) == q.newest_first(records, DJANGO)
