"""Writes on offerings and replenishments; views, the API, admin actions and tasks call these."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import bounds
from core.errors import errors_under
from events.names import EventName
from events.services import event_publish
from interactions.choices import Channel, Direction, InteractionType
from interactions.services import OrderLineInput, interaction_log

from . import selectors
from .models import (
    Category,
    Component,
    Offering,
    Partner,
    ReplenishmentDelivery,
    ReplenishmentSubscription,
    SubscriptionMode,
    SubscriptionStatus,
)

logger = logging.getLogger(__name__)

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
    unknown = set(data) - set(OFFERING_FIELDS)
    if unknown:
        raise TypeError(f"offering_update() got unknown fields: {sorted(unknown)}")
    for field, value in data.items():
        setattr(offering, field, value)
    offering.full_clean()
    offering.save()
    if components is not None:
        _components_replace(offering=offering, components=components)
    return offering


@transaction.atomic
def offering_archive(*, offering: Offering) -> Offering:
    """Take an offering off sale for good; it stays on every interaction that holds it.

    Its live subscriptions are paused: nothing is ordered or reminded for it any more.
    """
    if offering.archived_at is None:
        offering.archived_at = timezone.now()
    offering.active = False
    offering.full_clean()
    offering.save(update_fields=["archived_at", "active"])
    offering.replenishments.filter(status=SubscriptionStatus.ACTIVE).update(
        status=SubscriptionStatus.PAUSED
    )
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


# --- Replenishment ---------------------------------------------------------------------------


@transaction.atomic
def replenishment_subscribe(
    *,
    customer,
    offering: Offering,
    next_due: date,
    interval_days: int | None = None,
    mode: str = SubscriptionMode.REMINDER,
    quantity: Decimal = Decimal("1"),
) -> ReplenishmentSubscription:
    if not selectors.offerings_orderable().filter(pk=offering.pk).exists():
        raise ValidationError({"offering": f"{offering} is not on offer; it cannot be ordered."})
    subscription = ReplenishmentSubscription(
        customer=customer,
        offering=offering,
        next_due=next_due,
        interval_days=interval_days or offering.replenish_every_days or 0,
        mode=mode,
        quantity=quantity,
    )
    subscription.full_clean()
    subscription.save()
    event_publish(
        EventName.SUBSCRIPTION_CHANGED,
        customer_id=customer.pk,
        payload={"subscription_id": subscription.pk, "status": subscription.status},
    )
    return subscription


@transaction.atomic
def replenishment_set_status(
    *, subscription: ReplenishmentSubscription, status: str, today: date | None = None
) -> ReplenishmentSubscription:
    """Pause, resume or cancel. Resuming does not replay the periods spent paused."""
    today = today or timezone.localdate()
    subscription.status = status
    if status == SubscriptionStatus.ACTIVE and subscription.next_due < today:
        subscription.next_due = today
    subscription.full_clean()
    subscription.save(update_fields=["status", "next_due"])
    event_publish(
        EventName.SUBSCRIPTION_CHANGED,
        customer_id=subscription.customer_id,
        payload={"subscription_id": subscription.pk, "status": subscription.status},
    )
    return subscription


def _deliver(subscription: ReplenishmentSubscription, due_on: date) -> bool:
    """Turn one due date into an interaction, unless it was delivered already."""
    try:
        # The unique (subscription, due_on) row is the claim: a second delivery of the same
        # due date fails here and is skipped, whoever runs it.
        with transaction.atomic():
            delivery = ReplenishmentDelivery.objects.create(
                subscription=subscription, due_on=due_on
            )
    except IntegrityError:
        return False
    customer, offering = subscription.customer, subscription.offering
    channel = customer.preferred_channel or Channel.EMAIL
    if subscription.mode == SubscriptionMode.AUTO_ORDER:
        interaction = interaction_log(
            customer=customer,
            logged_by=None,
            channel=channel,
            direction=Direction.OUTBOUND,
            type=InteractionType.ORDER,
            subject=f"Replenishment order: {offering} (due {due_on:%Y-%m-%d})",
            notes=f"Ordered automatically every {subscription.interval_days} days.",
            next_step=f"Confirm the replenishment of {offering} with {customer}",
            next_step_due=due_on,
            lines=[
                OrderLineInput(
                    offering_id=offering.pk,
                    quantity=subscription.quantity,
                    unit_price=offering.price,
                    unit_cost=offering.cost,
                )
            ],
        )
    else:
        interaction = interaction_log(
            customer=customer,
            logged_by=None,
            channel=channel,
            direction=Direction.OUTBOUND,
            type=InteractionType.OUTREACH,
            subject=f"Replenishment reminder: {offering} (due {due_on:%Y-%m-%d})",
            notes=f"{customer} buys {offering} every {subscription.interval_days} days.",
            next_step=f"Ask {customer} whether to send {offering} again",
            next_step_due=due_on,
        )
    delivery.interaction = interaction
    delivery.save(update_fields=["interaction"])
    return True


def replenishments_deliver_due(*, today: date | None = None, batch_size: int = 100) -> int:
    """Deliver every due date of every due subscription, exactly once; returns how many.

    Safe to run twice or from overlapping schedulers: each batch of subscriptions is claimed
    with SELECT ... FOR UPDATE SKIP LOCKED (another run skips what this one holds), next_due
    is advanced in the same transaction, and the unique (subscription, due_on) delivery row
    refuses a due date that was delivered before. Missed periods are caught up one due date
    at a time.
    """
    today = today or timezone.localdate()
    delivered = 0
    while True:
        with transaction.atomic():
            subscriptions = list(
                selectors.subscriptions_due_for_delivery(today=today)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("customer", "offering")
                .order_by("next_due", "id")[:batch_size]
            )
            if not subscriptions:
                return delivered
            for subscription in subscriptions:
                due_on = subscription.next_due
                while due_on <= today:
                    delivered += _deliver(subscription, due_on)
                    # Safe for an interval stored before its bound: the calendar's end at most.
                    due_on = bounds.add_days_safe(due_on, subscription.interval_days)
                subscription.next_due = due_on
                subscription.save(update_fields=["next_due"])
            for s in subscriptions:
                event_publish(
                    EventName.SUBSCRIPTION_DUE,
                    customer_id=s.customer_id,
                    payload={"subscription_id": s.pk, "due_on": s.next_due.isoformat()},
                )
        logger.info("replenishment: %d deliveries so far", delivered)
