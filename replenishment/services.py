"""Writes on replenishment subscriptions and their deliveries; the admin and the scheduled task
call these."""

import logging
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import bounds
from events.names import EventName
from events.services import event_publish
from interactions.choices import Channel, Direction, InteractionType
from interactions.services import OrderLineInput, interaction_log
from offerings.models import Offering
from offerings.selectors import offerings_orderable

from . import selectors
from .forecasts import purchase_forecasts_refresh
from .models import (
    PurchaseForecast,
    ReplenishmentDelivery,
    ReplenishmentSubscription,
    SubscriptionMode,
    SubscriptionStatus,
)

logger = logging.getLogger(__name__)


def _changed(subscription: ReplenishmentSubscription, changed: tuple[str, ...] = ()) -> None:
    payload = {"subscription_id": subscription.pk, "status": subscription.status}
    if changed:
        payload["changed"] = list(changed)
    event_publish(
        EventName.SUBSCRIPTION_CHANGED, customer_id=subscription.customer_id, payload=payload
    )


STAYS_CANCELLED = "A cancelled subscription stays cancelled; subscribe again instead."


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
    if not offerings_orderable().filter(pk=offering.pk).exists():
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
    _changed(subscription)
    return subscription


@transaction.atomic
def replenishment_set_status(
    *, subscription: ReplenishmentSubscription, status: str, today: date | None = None
) -> ReplenishmentSubscription:
    """Pause, resume or cancel. Resuming does not replay the periods spent paused."""
    today = today or timezone.localdate()
    stored = (
        ReplenishmentSubscription.objects.select_for_update()
        .filter(pk=subscription.pk)
        .values_list("status", flat=True)
        .first()
    )
    if stored == SubscriptionStatus.CANCELLED and status != SubscriptionStatus.CANCELLED:
        raise ValidationError({"status": STAYS_CANCELLED})
    if stored == status:
        subscription.status = status
        return subscription  # already so: nothing changes, nothing to announce
    if (
        status == SubscriptionStatus.ACTIVE
        and not offerings_orderable().filter(pk=subscription.offering_id).exists()
    ):
        raise ValidationError(
            {"status": f"{subscription.offering} is not on offer; the subscription stays paused."}
        )
    subscription.status = status
    if status == SubscriptionStatus.ACTIVE and subscription.next_due < today:
        subscription.next_due = today
    subscription.full_clean()
    subscription.save(update_fields=["status", "next_due"])
    _changed(subscription)
    return subscription


def _locked_live(subscription: ReplenishmentSubscription) -> ReplenishmentSubscription:
    """The subscription as stored, locked; refused when cancelled."""
    locked = ReplenishmentSubscription.objects.select_for_update().get(pk=subscription.pk)
    if locked.status == SubscriptionStatus.CANCELLED:
        raise ValidationError({"status": STAYS_CANCELLED})
    return locked


@transaction.atomic
def replenishment_skip_next(
    *, subscription: ReplenishmentSubscription
) -> ReplenishmentSubscription:
    """Leave out the next delivery: the next due date moves one interval on (no delivery is
    recorded for the skipped date). Announced like every change (``subscription.changed``):
    the customer's next due action follows."""
    locked = _locked_live(subscription)
    locked.next_due = bounds.add_days_safe(locked.next_due, locked.interval_days)
    locked.full_clean()
    locked.save(update_fields=["next_due"])
    _changed(locked, ("next_due",))
    return locked


@transaction.atomic
def replenishment_interval_change(
    *, subscription: ReplenishmentSubscription, interval_days: int
) -> ReplenishmentSubscription:
    """Deliver every ``interval_days`` days from the next due date on (which stays)."""
    locked = _locked_live(subscription)
    if locked.interval_days == interval_days:
        return locked
    locked.interval_days = interval_days
    locked.full_clean()
    locked.save(update_fields=["interval_days"])
    _changed(locked, ("interval_days",))
    return locked


@transaction.atomic
def replenishments_pause_for_offering(*, offering: Offering) -> int:
    """Pause the active subscriptions of an offering taken off sale (offerings'
    ``offering.archived`` event); returns how many. Their customers' next due action follows."""
    live = ReplenishmentSubscription.objects.filter(
        offering=offering, status=SubscriptionStatus.ACTIVE
    )
    pausing = list(live.select_for_update().values_list("pk", "customer_id"))
    paused = live.update(status=SubscriptionStatus.PAUSED)
    if pausing:
        # One event for the lot (an offering may have thousands of subscribers): the
        # customers' agendas follow in one statement.
        event_publish(
            EventName.SUBSCRIPTION_CHANGED,
            payload={
                "subscription_ids": [pk for pk, _ in pausing],
                "customer_ids": sorted({customer_id for _, customer_id in pausing}),
                "status": SubscriptionStatus.PAUSED,
            },
        )
    return paused


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
            # One event per batch: the customers' agendas follow in one statement.
            event_publish(
                EventName.SUBSCRIPTION_DUE,
                payload={
                    "subscriptions": [
                        {"subscription_id": s.pk, "next_due": s.next_due.isoformat()}
                        for s in subscriptions
                    ],
                    "customer_ids": sorted({s.customer_id for s in subscriptions}),
                },
            )
        logger.info("replenishment: %d deliveries so far", delivered)


FORECAST_MERGE_WHY = "derived: the survivor's forecasts are recomputed from the moved orders"


def replenishment_customer_merge(*, survivor_id: int, duplicate_id: int) -> dict[str, dict]:
    """The duplicate's subscriptions (their deliveries with them) become the survivor's, in
    the merge's transaction (replenishment.handlers); its purchase forecasts, derived from
    the orders interactions has just moved, go and the survivor's are computed again."""
    moved = ReplenishmentSubscription.objects.filter(customer_id=duplicate_id).update(
        customer_id=survivor_id
    )
    dropped, _ = PurchaseForecast.objects.filter(customer_id=duplicate_id).delete()
    purchase_forecasts_refresh(customer_ids=[survivor_id])
    return {
        "replenishment.ReplenishmentSubscription.customer": {"moved": moved},
        "replenishment.PurchaseForecast.customer": {
            "dropped": dropped,
            "why": FORECAST_MERGE_WHY,
        },
    }
