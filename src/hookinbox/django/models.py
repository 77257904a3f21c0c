"""The inbox table on the Django database (``store = "django://"``)."""

from __future__ import annotations

from django.db import models

from hookinbox.events import Status

__all__ = ["InboxEvent", "OrderKey", "Process"]


class InboxEvent(models.Model):
    """One accepted event, unique on ``(endpoint, event_id)``. Times are Unix seconds, like every store."""

    endpoint = models.CharField(max_length=100)
    event_id = models.CharField("event id", max_length=255)
    type = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=[(s.value, s.value) for s in Status], default=Status.PENDING.value)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.FloatField()
    updated_at = models.FloatField(default=0.0)
    next_attempt_at = models.FloatField(null=True, blank=True)
    lease_until = models.FloatField(null=True, blank=True)
    timestamp = models.CharField(max_length=64, null=True, blank=True)
    last_error = models.TextField(null=True, blank=True)
    handlers_done = models.JSONField(default=list, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField(null=True, blank=True)
    #: the process holding the claim while processing (see :class:`Process`)
    owner = models.CharField(max_length=64, null=True, blank=True)
    #: past attempts, oldest first, at most 25 (``Attempt.to_dict()`` each)
    history = models.JSONField(default=list, blank=True)
    #: the resource the event is ordered by (the endpoint's ``order_by``); None when unordered
    order_key = models.CharField("order key", max_length=255, null=True, blank=True)
    #: its place among the events of ``order_key`` (the endpoint's ``order_seq``, as a number)
    order_seq = models.FloatField("order seq", null=True, blank=True)

    class Meta:
        db_table = "hookinbox_event"
        verbose_name = "webhook event"
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="hookinbox_event_key")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="hookinbox_event_due"),
            models.Index(fields=["received_at"], name="hookinbox_event_received"),
            # the events of one resource by status: the ordering checks of claim_ordered, settle_ordered, due
            models.Index(fields=["endpoint", "order_key", "status"], name="hookinbox_event_order"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint}/{self.event_id}"


class OrderKey(models.Model):
    """What the inbox knows of one resource of an endpoint ordered by resource (``order_by``).

    ``last_seq`` is the highest ``order_seq`` handled for the key (None before the first), ``last_id`` the
    event that set it. The row is also the key's lock: ``claim_ordered`` and ``settle_ordered`` write it
    first in their transaction, so the claims of one resource take turns across processes.
    """

    endpoint = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    last_seq = models.FloatField(null=True, blank=True)
    last_id = models.CharField("last event id", max_length=255, null=True, blank=True)
    updated_at = models.FloatField(default=0.0)

    class Meta:
        db_table = "hookinbox_order_key"
        verbose_name = "ordering key"
        ordering = ["endpoint", "key"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "key"], name="hookinbox_order_key_unique")]

    def __str__(self) -> str:
        return f"{self.endpoint}/{self.key}"


class Process(models.Model):
    """A process that claims events (heartbeats): a web process, a worker. Times are Unix seconds."""

    id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    kind = models.CharField(max_length=32)
    started_at = models.FloatField()
    last_heartbeat = models.FloatField()

    class Meta:
        db_table = "hookinbox_process"
        verbose_name = "inbox process"
        verbose_name_plural = "inbox processes"
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.host} pid {self.pid}"
