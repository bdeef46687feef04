"""Reads of the webhooks (admins only: the API and the admin check the role)."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from .models import Delivery, DeliveryStatus, Endpoint


def endpoints_all() -> QuerySet[Endpoint]:
    return Endpoint.objects.order_by("id")


def endpoint_deliveries(*, endpoint_id: int) -> QuerySet[Delivery]:
    """The delivery log of one endpoint, newest first (the (endpoint, -id) index)."""
    return Delivery.objects.filter(endpoint_id=endpoint_id).order_by("-id")


@dataclass(frozen=True)
class DeliveryHealth:
    failed: int  # gave up on: an admin may resend them
    retrying: int  # pending after at least one failed attempt
    endpoints_disabled: int  # switched off by repeated failures


def deliveries_health() -> DeliveryHealth:
    """Webhook deliveries that fail, and the endpoints the failures disabled. Two queries."""
    row = Delivery.objects.filter(
        Q(status=DeliveryStatus.FAILED) | Q(status=DeliveryStatus.PENDING, attempts__gt=0)
    ).aggregate(
        failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
        retrying=Count("pk", filter=Q(status=DeliveryStatus.PENDING)),
    )
    return DeliveryHealth(
        failed=row["failed"],
        retrying=row["retrying"],
        endpoints_disabled=Endpoint.objects.filter(disabled_at__isnull=False).count(),
    )
