"""Reads of the manager's portfolio page and keep / grow / shed map (SPEC §6)."""

from datetime import date, timedelta
from decimal import Decimal
from typing import TypedDict

from django.db.models import (
    Exists,
    F,
    OuterRef,
    QuerySet,
)
from django.utils import timezone

from customers.models import Customer, CustomerFact, FactKind

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


class MapPoint(TypedDict):
    id: int
    name: str
    tier: str
    predicted_clv: Decimal | None
    growth_potential: Decimal | None


def portfolio_map(*, manager) -> list[MapPoint]:
    """Points of the keep / grow / shed map: predicted CLV against growth potential."""
    return list(
        Customer.objects.filter(owner=manager, predicted_clv__isnull=False)
        .order_by(F("predicted_clv").desc())
        .values("id", "name", "tier", "predicted_clv", "growth_potential")[:MAP_LIMIT]
    )
