"""The manager's to-do list (SPEC §5): what is due within a week, overdue first."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from django.db import connection
from django.db.models import (
    Aggregate,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from customers.models import Customer, LifecycleStatus
from replenishment.models import PurchaseForecast
from replenishment.selectors import (
    PredictedPurchase,
    live_subscription,
    replenishments_due,
)
from valuation.declared import ValueTier
from valuation.models import CustomerFigures, CustomerSnapshot

from .next_due import open_next_steps, unanswered_items

DUE_WITHIN_DAYS = 7
PREDICTION_GRACE_DAYS = 30
TODO_LIMIT = 50


class _Median(Aggregate):
    # PostgreSQL's ordered-set aggregate: one pass, no OFFSET walk through half the portfolio.
    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def portfolio_median_clv(*, manager) -> Decimal | None:
    """Median predicted CLV of the portfolio (the mean of the middle two for an even count)."""
    values = CustomerFigures.objects.filter(owner=manager, predicted_clv__isnull=False)
    if connection.vendor == "postgresql":
        median = values.aggregate(median=_Median("predicted_clv"))["median"]
        return None if median is None else Decimal(str(median))
    # Elsewhere (the embedded SQLite default): count, then the middle rows.
    count = values.count()
    if not count:
        return None
    # Not None: `values` keeps only customers with a predicted CLV.
    middle = cast(
        "QuerySet[CustomerFigures, Decimal]",
        values.order_by("predicted_clv").values_list("predicted_clv", flat=True),
    )
    # A float only if the middle rows were empty (sum() is then 0), which count > 0 rules out.
    return sum(middle[(count - 1) // 2 : count // 2 + 1]) / (2 - count % 2)


def at_risk_customers(*, manager, limit: int = TODO_LIMIT) -> QuerySet[Customer]:
    """Valuable customers (tier MVC or MGC, or CLV above the portfolio median) whose P(alive)
    in their latest snapshot is lower than in the snapshot before it. Both snapshots are read
    in SQL (two correlated subqueries on the (customer, taken_on) index)."""
    snapshots = CustomerSnapshot.objects.filter(customer_id=OuterRef("pk")).order_by("-taken_on")
    median = portfolio_median_clv(manager=manager)
    valuable = Q(figures__tier__in=[ValueTier.MVC, ValueTier.MGC])
    if median is not None:
        valuable |= Q(figures__predicted_clv__gt=median)
    return (
        # The figures' owner too: walks their (owner, predicted_clv DESC NULLS LAST) index.
        Customer.objects.filter(owner=manager, figures__owner=manager)
        .select_related("figures")
        .exclude(status=LifecycleStatus.SHED)
        .filter(valuable)
        .annotate(
            p_alive_now=Subquery(snapshots.values("p_alive")[:1], output_field=FloatField()),
            p_alive_before=Subquery(snapshots.values("p_alive")[1:2], output_field=FloatField()),
        )
        .filter(p_alive_before__gt=F("p_alive_now"))
        .annotate(p_alive_drop=F("p_alive_before") - F("p_alive_now"))
        .order_by(F("figures__predicted_clv").desc(nulls_last=True), "id")[:limit]
    )


@dataclass
class TodoList:
    next_steps: list
    replenishments: list
    predicted: list
    unanswered: list
    at_risk: list

    @property
    def replenishment_count(self) -> int:
        return len(self.replenishments) + len(self.predicted)

    @property
    def total(self) -> int:
        return sum(
            len(x)
            for x in (
                self.next_steps,
                self.replenishments,
                self.predicted,
                self.unanswered,
                self.at_risk,
            )
        )


def manager_todo(*, manager, today: date | None = None) -> TodoList:
    """Everything due for the manager's customers within a week (overdue first). A fixed
    number of queries; each list is capped at TODO_LIMIT."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=DUE_WITHIN_DAYS)
    next_steps = list(
        open_next_steps()
        .filter(customer__owner=manager, next_step_due__lte=horizon)
        .select_related("customer")
        .order_by("next_step_due", "id")[:TODO_LIMIT]
    )
    replenishments = list(
        replenishments_due(manager=manager, within_days=DUE_WITHIN_DAYS, today=today)[:TODO_LIMIT]
    )
    # Repeat buyers without a subscription whose next purchase is predicted within the week;
    # a prediction missed by more than PREDICTION_GRACE_DAYS is a lapse, not a to-do. Read off
    # the stored forecasts' index, whatever the size of the portfolio.
    oldest_prediction = today - timedelta(days=PREDICTION_GRACE_DAYS)
    forecasts = (
        PurchaseForecast.objects.filter(
            customer__owner=manager,
            customer__status=LifecycleStatus.ACTIVE,
            predicted_on__range=(oldest_prediction, horizon),
        )
        .exclude(Exists(live_subscription(customer=OuterRef("customer_id"))))
        .select_related("customer", "offering")
        .order_by("predicted_on", "customer_id", "offering__name")[:TODO_LIMIT]
    )
    predicted = [
        {
            "customer_id": f.customer_id,
            "customer_name": f.customer.name,
            "purchase": PredictedPurchase(
                offering=f.offering,
                last_purchase=f.last_purchase,
                median_interval_days=f.median_interval_days,
                predicted_on=f.predicted_on,
            ),
        }
        for f in forecasts
    ]
    unanswered = list(
        unanswered_items()
        .filter(customer__owner=manager)
        .select_related("customer")
        .order_by("occurred_at", "id")[:TODO_LIMIT]
    )
    return TodoList(
        next_steps=next_steps,
        replenishments=replenishments,
        predicted=predicted,
        unanswered=unanswered,
        at_risk=list(at_risk_customers(manager=manager)),
    )
