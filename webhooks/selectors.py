"""Reads of the webhooks (admins only: the API and the admin check the role)."""

from django.db.models import QuerySet

from .models import Delivery, Endpoint


def endpoints_all() -> QuerySet[Endpoint]:
    return Endpoint.objects.order_by("id")


def endpoint_deliveries(*, endpoint_id: int) -> QuerySet[Delivery]:
    """The delivery log of one endpoint, newest first (the (endpoint, -id) index)."""
    return Delivery.objects.filter(endpoint_id=endpoint_id).order_by("-id")
