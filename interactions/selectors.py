"""Reads of interactions."""

from django.db.models import QuerySet

from .models import Interaction


def customer_timeline(*, customer_id: int) -> QuerySet[Interaction]:
    """Every interaction with the customer across channels, newest first."""
    return (
        Interaction.objects.filter(customer_id=customer_id)
        .select_related("logged_by")
        .prefetch_related("lines__offering")
        .order_by("-occurred_at", "-id")
    )


def customer_open_items(*, customer_id: int) -> QuerySet[Interaction]:
    """Inbound items still waiting for an answer or a resolution, oldest first."""
    return Interaction.objects.filter(
        customer_id=customer_id, requires_response=True, resolved_at__isnull=True
    ).order_by("occurred_at")
