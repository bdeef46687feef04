"""Reads of the outbox: how much of it still waits for a relay (the admins' overview)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q

from core.tasks import RETRY_MAX

from .models import Event


@dataclass(frozen=True)
class RelayBacklog:
    waiting: int  # not relayed yet: the sweeper will try them again
    given_up: int  # failed every try: they wait for an admin's "relay again"
    oldest_waiting_at: datetime | None


def events_relay_backlog() -> RelayBacklog:
    """Events not relayed yet, and those that failed for good. One query (the partial index
    of unrelayed events)."""
    row = Event.objects.filter(relayed_at__isnull=True).aggregate(
        waiting=Count("pk", filter=Q(attempts__lt=RETRY_MAX)),
        given_up=Count("pk", filter=Q(attempts__gte=RETRY_MAX)),
        oldest=Min("occurred_at"),
    )
    return RelayBacklog(
        waiting=row["waiting"], given_up=row["given_up"], oldest_waiting_at=row["oldest"]
    )
