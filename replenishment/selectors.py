"""Reads of replenishment: subscriptions, what is due, and predicted next purchases (SPEC §3,
§5)."""

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, NamedTuple

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from core import bounds
from interactions.choices import InteractionType
from interactions.models import OrderLine
from offerings.models import Offering

from .models import ReplenishmentSubscription, SubscriptionStatus


def customer_subscriptions(customer_id: int) -> QuerySet[ReplenishmentSubscription]:
    """A customer's subscriptions, live ones first, for the customer page."""
    return (
        ReplenishmentSubscription.objects.filter(customer_id=customer_id)
        .select_related("offering")
        .order_by("status", "next_due", "id")
    )


def replenishments_due(
    *, manager=None, within_days: int = 7, today: date | None = None
) -> QuerySet[ReplenishmentSubscription]:
    """Active subscriptions due within the next ``within_days`` days (overdue included)."""
    today = today or timezone.localdate()
    subscriptions = ReplenishmentSubscription.objects.filter(
        status=SubscriptionStatus.ACTIVE, next_due__lte=today + timedelta(days=within_days)
    )
    if manager is not None:
        subscriptions = subscriptions.filter(customer__owner=manager)
    return subscriptions.select_related("customer", "offering").order_by("next_due", "id")


def subscriptions_due_for_delivery(*, today: date) -> QuerySet[ReplenishmentSubscription]:
    """What the scheduled run has to deliver: active, due, and the offering still orderable."""
    return ReplenishmentSubscription.objects.filter(
        status=SubscriptionStatus.ACTIVE,
        next_due__lte=today,
        offering__active=True,
        offering__archived_at__isnull=True,
    )


def live_subscription(*, customer) -> QuerySet[ReplenishmentSubscription]:
    """The customer's active or paused subscriptions to the outer row's offering_id."""
    return ReplenishmentSubscription.objects.filter(
        customer_id=customer,
        offering_id=OuterRef("offering_id"),
        status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED],
    )


class PredictedPurchase(NamedTuple):
    offering: Offering
    last_purchase: date
    median_interval_days: float
    predicted_on: date


def predicted_next_purchases_bulk(
    customer_ids: Iterable[int], *, include_subscribed: bool = False
) -> dict[int, list[PredictedPurchase]]:
    """Predicted next purchase of each offering bought on two or more days, per customer.

    SPEC §5 "Replenishment due": the next purchase is expected one median interval (between
    the customer's own distinct order days of that offering) after the last one. Offerings the
    customer already has a live subscription for are left out (the subscription says when),
    unless `include_subscribed`. Two queries whatever the number of customers and offerings.
    (The stored PurchaseForecast rows are the same arithmetic in SQL, for whole portfolios.)
    """
    customer_ids = list(customer_ids)
    # Lines first, then (customer, offering, day) rows.
    days: QuerySet[OrderLine, Any] = OrderLine.objects.filter(
        interaction__customer_id__in=customer_ids, interaction__type=InteractionType.ORDER
    )
    if not include_subscribed:
        days = days.exclude(
            Exists(live_subscription(customer=OuterRef("interaction__customer_id")))
        )
    days = (
        days.annotate(day=TruncDate("interaction__occurred_at"))
        .values_list("interaction__customer_id", "offering_id", "day")
        .distinct()
        .order_by("interaction__customer_id", "offering_id", "day")
    )
    by_pair: dict[tuple[int, int], list[date]] = defaultdict(list)
    for customer_id, offering_id, day in days:
        by_pair[(customer_id, offering_id)].append(day)
    repeat = {pair: d for pair, d in by_pair.items() if len(d) >= 2}
    offerings = Offering.objects.in_bulk({offering_id for _, offering_id in repeat})
    result: dict[int, list[PredictedPurchase]] = {customer_id: [] for customer_id in customer_ids}
    for (customer_id, offering_id), order_days in repeat.items():
        median = float(statistics.median((b - a).days for a, b in itertools.pairwise(order_days)))
        last = order_days[-1]
        result[customer_id].append(
            PredictedPurchase(
                offering=offerings[offering_id],
                last_purchase=last,
                median_interval_days=median,
                predicted_on=bounds.add_days_safe(last, round(median)),
            )
        )
    for predictions in result.values():
        predictions.sort(key=lambda p: (p.predicted_on, p.offering.name))
    return result


def predicted_next_purchases(customer_id: int) -> list[PredictedPurchase]:
    return predicted_next_purchases_bulk([customer_id])[customer_id]
