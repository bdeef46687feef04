"""Reads of the manager's portfolio page and keep / grow / shed map (SPEC §6)."""

import math
from datetime import date, timedelta
from decimal import Decimal
from typing import TypedDict

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

from customers.models import Customer, CustomerFact, FactKind
from valuation.declared import ValueTier
from valuation.models import CustomerFigures

from ..models import PortfolioEquity

MAP_LIMIT = 5000


def with_need(customers: QuerySet[Customer], *, category_id: int) -> QuerySet[Customer]:
    """Customers with a current need fact whose key is linked to the category."""
    need = CustomerFact.objects.filter(
        customer_id=OuterRef("pk"),
        is_current=True,
        key__kind=FactKind.NEED,
        key__category_id=category_id,
    )
    return customers.filter(Exists(need))


def with_stored_next_due(customers: QuerySet[Customer], *, manager) -> QuerySet[Customer]:
    """The manager's customers with their stored next due action (``next_due_on``), to sort
    the whole portfolio by it on the agenda's (owner, next_due_on) index. Every customer has
    an agenda (created with it, workspace/handlers.py), which carries a copy of the owner."""
    return customers.filter(agenda__owner=manager).annotate(next_due_on=F("agenda__next_due_on"))


class EquityPoint(TypedDict):
    day: date
    equity: Decimal


def equity_trend(*, manager, today_equity, days: int = 730) -> list[EquityPoint]:
    """Customer equity by day for the chart: the equity recorded at the end of each earlier
    day (PortfolioEquity, one row a day whatever the portfolio size) and today's, live, from
    the portfolio totals the page has already summed (`today_equity`)."""
    today = timezone.localdate()
    recorded = list(
        PortfolioEquity.objects.filter(
            manager=manager, day__lt=today, day__gte=today - timedelta(days=days)
        )
        .order_by("day")
        .values("day", "equity")
    )
    if today_equity is None and not recorded:
        return []  # no figures yet: no chart
    return [*recorded, {"day": today, "equity": today_equity or Decimal(0)}]


def portfolio_tier_choices() -> list[tuple[str, str]]:
    """The tiers the portfolio filters by (valuation.declared.ValueTier)."""
    return ValueTier.choices


def portfolio_of_tier(customers: QuerySet[Customer], *, tier: str = "") -> QuerySet[Customer]:
    """The customers of a tier (all when none is given: no join then, e.g. for counting)."""
    return customers.filter(figures__tier=tier) if tier else customers


def portfolio_with_figures(customers: QuerySet[Customer], *, manager) -> QuerySet[Customer]:
    """The customers with their figures row, for a page of the portfolio.

    An inner join: every customer has a figures row (created with the customer by every write
    path, valuation.services.customer_figures_request), and only an inner join lets a page
    sorted by a figure walk the figures' index (owner, predicted_clv DESC NULLS LAST, customer)
    instead of joining and sorting the whole portfolio. Count the page's customers on the
    queryset before (no join).
    """
    return customers.filter(figures__owner=manager).select_related("figures")


def portfolio_totals(*, manager) -> dict:
    """Customer equity (sum of predicted CLV) and customers per tier, in one query on the
    figures alone (every customer has a figures row, which copies the owner)."""
    tiers = {f"tier_{value}": Count("pk", filter=Q(tier=value)) for value in ValueTier.values}
    return CustomerFigures.objects.filter(owner=manager).aggregate(
        customers=Count("pk"),
        customer_equity=Sum("predicted_clv"),
        interactions=Sum("interaction_count"),
        **tiers,
    )


class MapPoint(TypedDict):
    id: int
    name: str
    tier: str
    predicted_clv: Decimal | None
    growth_potential: Decimal | None


def portfolio_map(*, manager) -> list[MapPoint]:
    """Points of the keep / grow / shed map: predicted CLV against growth potential."""
    return list(
        Customer.objects.filter(owner=manager, figures__predicted_clv__isnull=False)
        .order_by(F("figures__predicted_clv").desc())
        .values(
            "id",
            "name",
            tier=F("figures__tier"),
            predicted_clv=F("figures__predicted_clv"),
            growth_potential=F("figures__growth_potential"),
        )[:MAP_LIMIT]
    )


def map_is_skewed(values: list[float]) -> bool:
    """Whether most dots of one axis would crowd into a corner on a linear scale: half of them
    within the lowest or highest 15 % of the range (a long tail, as CLV has), or the middle
    80 % within a fifth of it (outliers on both sides). The map then opens on its symlog
    scale; the manager can switch back to linear."""
    if len(values) < 5:
        return False
    ordered = sorted(values)
    low, high = ordered[0], ordered[-1]
    spread = high - low
    if spread <= 0:
        return False
    median = ordered[len(ordered) // 2]
    p10 = ordered[len(ordered) // 10]
    p90 = ordered[math.ceil(len(ordered) * 0.9) - 1]
    crowded_at_an_end = min(median - low, high - median) < 0.15 * spread
    return crowded_at_an_end or (p90 - p10) < spread / 5
