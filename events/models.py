from django.db import models
from django.db.models import Q
from django.utils import timezone


class Event(models.Model):
    """One domain event, written in the same transaction as the change it tells of (the
    outbox). `relayed_at` is set once every after-commit subscriber has handled it; until then
    the sweeper (events.tasks.events_relay_pending) finds it again."""

    # The names are events.names.EventName (not choices here: a new event needs no migration).
    name = models.CharField(max_length=60)
    # The customer the event is about, if any. Not a foreign key: the seam sits below every
    # domain app, and an event outlives the rows it names (erasure keeps only ids).
    customer_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    relayed_at = models.DateTimeField(null=True, blank=True)
    # The subscribers that have handled it, so that a retry runs only those that failed.
    handled = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["customer_id", "-id"], name="event_customer_idx"),
            # The sweeper's question: which events still wait for a relay, oldest first.
            models.Index(
                fields=["occurred_at"],
                name="event_unrelayed_idx",
                condition=Q(relayed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"
