"""Ordering by resource end to end (tests/stores/test_ordering_flow.py: settings, receive, processing,
the live thread executor), the very same tests, on an inbox whose store is the Django database."""

from __future__ import annotations

from typing import Any

import pytest
from tests.stores.test_ordering_flow import (
    make_inbox,
    test_a_backlog_is_handled_in_order_per_resource,
    test_a_failing_earlier_event_does_not_hold_the_resource,
    test_an_older_event_after_a_newer_one_is_stale,
    test_live_threads_handle_a_burst_in_order,
    test_on_stale_run_runs_the_handler_with_stale,
    test_receive_records_the_resource_and_its_time,
)

__all__ = [  # collected here too, on the store_url below
    "make_inbox",
    "test_a_backlog_is_handled_in_order_per_resource",
    "test_a_failing_earlier_event_does_not_hold_the_resource",
    "test_an_older_event_after_a_newer_one_is_stale",
    "test_live_threads_handle_a_burst_in_order",
    "test_on_stale_run_runs_the_handler_with_stale",
    "test_receive_records_the_resource_and_its_time",
]


@pytest.fixture
def store_url() -> tuple[str, dict[str, object]]:
    """The inbox's store: the Django default database (emptied before each test by conftest)."""
    return "django://", {}


def test_the_inbox_is_on_the_django_store(make_inbox: Any) -> None:
    """The tests above run where they should: on DjangoStore, not a default store."""
    from hookinbox.django.store import DjangoStore

    assert isinstance(make_inbox().store, DjangoStore)
