"""Writes on the catalog (offerings, components); views, the API and admin actions call these."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.errors import errors_under
from core.records import record_save
from events.names import EventName
from events.services import event_publish

from . import selectors
from .models import Category, Component, Offering, Partner

# Offering fields the admin sets through the API (components and archiving have their own path).
OFFERING_FIELDS = (
    "name",
    "category",
    "description",
    "price",
    "active",
    "replenish_every_days",
)


@dataclass(frozen=True)
class ComponentInput:
    name: str
    kind: str
    price: Decimal
    cost: Decimal
    partner: Partner | None = None


def _components_replace(*, offering: Offering, components: Sequence[ComponentInput]) -> None:
    if not components:
        raise ValidationError({"components": "An offering needs at least one component."})
    rows = [
        Component(
            offering=offering,
            name=c.name,
            kind=c.kind,
            partner=c.partner,
            price=c.price,
            cost=c.cost,
        )
        for c in components
    ]
    for index, row in enumerate(rows):
        with errors_under(f"components[{index}]"):
            row.full_clean(exclude=["offering"])
    offering.components.all().delete()
    Component.objects.bulk_create(rows)


@transaction.atomic
def offering_create(
    *,
    name: str,
    category: Category,
    components: Sequence[ComponentInput],
    price: Decimal | None = None,
    **fields,
) -> Offering:
    """Create an offering with its components; the price defaults to the components' total."""
    unknown = set(fields) - set(OFFERING_FIELDS)
    if unknown:
        raise TypeError(f"offering_create() got unknown fields: {sorted(unknown)}")
    if price is None:
        price = sum((c.price for c in components), Decimal("0.00"))
    offering = Offering(name=name, category=category, price=price, **fields)
    offering.full_clean()
    offering.save()
    _components_replace(offering=offering, components=components)
    return offering


@transaction.atomic
def offering_update(
    *, offering: Offering, data: dict, components: Sequence[ComponentInput] | None = None
) -> Offering:
    """Change an offering; ``components``, when given, replace the current ones."""
    record_save(offering, data, OFFERING_FIELDS)
    if components is not None:
        _components_replace(offering=offering, components=components)
    return offering


@transaction.atomic
def offering_archive(*, offering: Offering) -> Offering:
    """Take an offering off sale for good; it stays on every interaction that holds it.

    Published as ``offering.archived`` in the same transaction: replenishment pauses the
    offering's live subscriptions, so nothing is ordered or reminded for it any more.
    """
    if offering.archived_at is None:
        offering.archived_at = timezone.now()
    offering.active = False
    offering.full_clean()
    offering.save(update_fields=["archived_at", "active"])
    event_publish(EventName.OFFERING_ARCHIVED, payload={"offering_id": offering.pk})
    return offering


@transaction.atomic
def offering_restore(*, offering: Offering) -> Offering:
    """Bring an archived offering back, inactive: the admin re-activates it deliberately."""
    offering.archived_at = None
    offering.full_clean()
    offering.save(update_fields=["archived_at"])
    return offering


@transaction.atomic
def offering_delete(*, offering: Offering) -> None:
    """Delete an offering that was never sold; anything ever sold is archived instead."""
    if selectors.offering_was_sold(offering=offering):
        raise ValidationError(
            f"{offering} was sold; it stays on the customers' history. Archive it instead."
        )
    offering.delete()


def offering_stand_in_get_or_create(
    *, name: str, description: str, category_name: str, category_description: str
) -> Offering:
    """The offering that stands for purchases of no known offering (an import's rows that
    name none), with its category: created the first time, free and off sale (never ordered
    anew), without components; found by name after that."""
    category, _ = Category.objects.get_or_create(
        name=category_name, defaults={"description": category_description}
    )
    offering, _ = Offering.objects.get_or_create(
        name=name,
        defaults={
            "category": category,
            "price": Decimal("0"),
            "active": False,
            "description": description,
        },
    )
    return offering


# --- Categories and partners (the admin's vocabulary of the catalog) -------------------------

CATEGORY_FIELDS = ("name", "description")
PARTNER_FIELDS = ("name", "email")


@transaction.atomic
def category_create(*, name: str, description: str = "") -> Category:
    return record_save(Category(), {"name": name, "description": description}, CATEGORY_FIELDS)


@transaction.atomic
def category_update(*, category: Category, data: dict) -> Category:
    return record_save(category, data, CATEGORY_FIELDS)


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Delete a category nothing refers to. Categories have no archive: one an offering serves,
    an offering suits or a need (a fact key) names stays, and the refusal says which."""
    uses = selectors.category_uses(category=category)
    if uses:
        raise ValidationError(f"{category} is still used by {', '.join(uses)}; it stays.")
    category.delete()


@transaction.atomic
def partner_create(*, name: str, email: str = "") -> Partner:
    return record_save(Partner(), {"name": name, "email": email}, PARTNER_FIELDS)


@transaction.atomic
def partner_update(*, partner: Partner, data: dict) -> Partner:
    return record_save(partner, data, PARTNER_FIELDS)


@transaction.atomic
def partner_delete(*, partner: Partner) -> None:
    """Delete a partner who delivers no component (components of archived offerings
    included: they stay on the customers' history)."""
    components = partner.components.count()
    if components:
        raise ValidationError(
            f"{partner} delivers {components} component(s) of offerings; the partner stays."
        )
    partner.delete()
