"""The inbox in the Django admin: filters, search by event id, and a "replay" action; the processes
that claim events (heartbeats), read-only.

Bodies are never shown (they may be medical or payment data); events are
read-only here and change only through :meth:`Inbox.replay`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from hookinbox.django.conf import get_inbox
from hookinbox.django.models import InboxEvent, Process

__all__ = ["InboxEventAdmin", "ProcessAdmin"]


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@admin.register(InboxEvent)
class InboxEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "endpoint", "type", "status", "attempts", "received", "order_key")
    list_filter = ("endpoint", "status", "type")  # status: every Status, stale included
    search_fields = ("=event_id", "=order_key")  # an id, or a resource: all the events of one customer, say
    exclude = ("body",)
    readonly_fields = ("received", "updated", "next_attempt")
    actions = ["replay"]

    @admin.display(description="received", ordering="received_at")
    def received(self, obj: InboxEvent) -> str:
        return _when(obj.received_at)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, obj: InboxEvent) -> str:
        return _when(obj.updated_at)

    @admin.display(description="next attempt")
    def next_attempt(self, obj: InboxEvent) -> str:
        return _when(obj.next_attempt_at)

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboxEvent]:
        return super().get_queryset(request).defer("body")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: InboxEvent | None = None) -> bool:
        return False

    @admin.action(description="Replay selected events (run their handlers again)", permissions=["view"])
    def replay(self, request: HttpRequest, queryset: QuerySet[InboxEvent]) -> None:
        inbox = get_inbox()
        n = sum(inbox.replay(row.event_id, row.endpoint) for row in queryset.only("endpoint", "event_id"))
        skipped = queryset.count() - n
        self.message_user(request, f"Replayed {n} event(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} event(s) were pending or in flight and left alone.", messages.WARNING
            )


@admin.register(Process)
class ProcessAdmin(admin.ModelAdmin):
    """Registered processes and their last heartbeat; rows come and go with the processes themselves."""

    list_display = ("id", "kind", "host", "pid", "started", "heartbeat")
    list_filter = ("kind", "host")
    search_fields = ("=id", "host")
    readonly_fields = ("id", "kind", "host", "pid", "started", "heartbeat")
    fields = readonly_fields

    @admin.display(description="started", ordering="started_at")
    def started(self, obj: Process) -> str:
        return _when(obj.started_at)

    @admin.display(description="last heartbeat", ordering="last_heartbeat")
    def heartbeat(self, obj: Process) -> str:
        return _when(obj.last_heartbeat)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Process | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Process | None = None) -> bool:
        return False
