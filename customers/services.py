"""Writes on customers. Views, the API, tasks and commands call these; nothing else writes."""

from django.db import transaction

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
