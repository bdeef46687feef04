"""Writes on customers. Views, the API, tasks and commands call these; nothing else writes."""

from django.db import transaction
from django.db.models import Count, F, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from interactions.models import Interaction

from .models import Customer

# Fields a customer manager (or admin) may set through the profile form and the API.
EDITABLE_FIELDS = (
    "kind",
    "name",
    "email",
    "phone",
    "external_ref",
    "status",
    "acquired_on",
    "acquisition_source",
    "referred_by",
    "preferred_channel",
    "wallet_annual",
    "wallet_source",
)


@transaction.atomic
def customer_create(*, name: str, owner=None, **fields) -> Customer:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"customer_create() got unknown fields: {sorted(unknown)}")
    customer = Customer(name=name, owner=owner, **fields)
    customer.full_clean()
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, data: dict) -> Customer:
    unknown = set(data) - set(EDITABLE_FIELDS) - {"owner"}
    if unknown:
        raise TypeError(f"customer_update() got unknown fields: {sorted(unknown)}")
    for field, value in data.items():
        setattr(customer, field, value)
    customer.full_clean()
    customer.save()
    return customer


def customer_figures_recompute(*, customer_id: int) -> bool:
    """Recompute one customer's figures from scratch. Idempotent; a fixed number of queries.

    Returns False when the customer is gone or a newer recompute already wrote its figures.
    """
    version = (
        Customer.objects.filter(pk=customer_id).values_list("figures_version", flat=True).first()
    )
    if version is None:
        return False
    # Read after the version: everything committed up to that version is visible now.
    stats = Interaction.objects.filter(customer_id=customer_id).aggregate(
        count=Count("id"), last=Max("occurred_at")
    )
    # Conditional write: a recompute that saw an older version never overwrites a newer one.
    written = Customer.objects.filter(pk=customer_id, figures_computed_version__lte=version).update(
        interaction_count=stats["count"],
        last_contact_at=stats["last"],
        metrics_computed_at=timezone.now(),
        figures_computed_version=version,
    )
    return written == 1


def customers_figures_recompute_bulk(*, customer_ids=None) -> int:
    """Recompute the figures of many customers (default: all) in one UPDATE statement."""
    per_customer = Interaction.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
    customers = Customer.objects.all()
    if customer_ids is not None:
        customers = customers.filter(pk__in=customer_ids)
    return customers.update(
        interaction_count=Coalesce(
            Subquery(per_customer.annotate(n=Count("id")).values("n")), Value(0)
        ),
        last_contact_at=Subquery(per_customer.annotate(last=Max("occurred_at")).values("last")),
        metrics_computed_at=timezone.now(),
        figures_computed_version=F("figures_version"),
    )
