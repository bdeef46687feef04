"""Admin scorecards per manager (SPEC §6): equity, gains, losses and tier moves."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    Count,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)

from customers.models import Customer, LifecycleStatus
from valuation.models import CustomerSnapshot

GONE = [LifecycleStatus.LAPSED, LifecycleStatus.SHED]


def _equity_on(day: date) -> Subquery:
    latest = (
        CustomerSnapshot.objects.filter(customer_id=OuterRef("pk"), taken_on__lte=day)
        .order_by("-taken_on")
        .values("predicted_clv")[:1]
    )
    return Subquery(latest)


def _tier_on(day: date) -> Subquery:
    latest = (
        CustomerSnapshot.objects.filter(customer_id=OuterRef("pk"), taken_on__lte=day)
        .order_by("-taken_on")
        .values("tier")[:1]
    )
    return Subquery(latest)


@dataclass(frozen=True)
class ScorecardPeriod:
    """The period the scorecards measure. One that starts before the first recorded snapshot
    is measured from that first day: before it every customer's equity would read 0 and no
    tier could have moved, so the whole equity would show as "change" and mean nothing."""

    start: date  # the day measured from
    end: date
    asked_start: date
    first_recorded: date | None  # the first snapshot's day (None: none yet)

    @property
    def from_first_recorded(self) -> bool:
        return self.start != self.asked_start


def scorecard_period(*, start: date, end: date) -> ScorecardPeriod:
    # One scan of the snapshots' days (they have no index of their own, see the model); an
    # admin's page, read once per view.
    first = CustomerSnapshot.objects.aggregate(first=Min("taken_on"))["first"]
    measured_from = first if first is not None and start < first <= end else start
    return ScorecardPeriod(start=measured_from, end=end, asked_start=start, first_recorded=first)


def manager_scorecards(*, start: date, end: date) -> list[dict]:
    """Per manager (current owner): customer equity at the start and end of the period (each
    customer's latest snapshot on or before the day), customers gained (acquired in the
    period), lost (now lapsed or shed after a status change in the period, or moved to another
    manager in the period) and moved between tiers (snapshot tier at start != at end).
    Three GROUP BY queries whatever the number of customers."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    owned = (
        Customer.objects.filter(owner__isnull=False)
        .annotate(equity_start=_equity_on(start), equity_end=_equity_on(end))
        .annotate(tier_start=_tier_on(start), tier_end=_tier_on(end))
    )
    rows = (
        owned.order_by()
        .values("owner_id")
        .annotate(
            customers=Count("id"),
            start_equity=Sum("equity_start"),
            end_equity=Sum("equity_end"),
            gained=Count("id", filter=Q(acquired_on__gte=start, acquired_on__lte=end)),
            moved_tier=Count(
                "id",
                filter=Q(tier_start__isnull=False, tier_end__isnull=False)
                & ~Q(tier_start=F("tier_end")),
            ),
        )
    )
    history = Customer.history.model.objects.filter(
        history_date__date__gte=start, history_date__date__lte=end
    )
    status_now = Customer.objects.filter(pk=OuterRef("id")).values("status")[:1]
    owner_now = Customer.objects.filter(pk=OuterRef("id")).values("owner_id")[:1]
    lost_rows = (
        history.filter(owner_id__isnull=False)
        .annotate(
            status_now=Subquery(status_now),
            owner_now=Subquery(owner_now, output_field=IntegerField()),
        )
        .filter(
            Q(
                status__in=GONE,
                owner_now=F("owner_id"),
                status_now__in=GONE,
            )
            | ~Q(owner_now=F("owner_id"))
            | Q(owner_now__isnull=True)
        )
        .order_by()
        .values("owner_id")
        .annotate(n=Count("id", distinct=True))
    )
    lost = {row["owner_id"]: row["n"] for row in lost_rows}
    users = User.objects.in_bulk({r["owner_id"] for r in rows} | set(lost))
    cards = []
    for row in rows:
        start_equity = row["start_equity"] or Decimal("0")
        end_equity = row["end_equity"] or Decimal("0")
        cards.append(
            {
                "manager": users.get(row["owner_id"]),
                "customers": row["customers"],
                "start_equity": start_equity,
                "end_equity": end_equity,
                "change": end_equity - start_equity,
                "gained": row["gained"],
                "lost": lost.get(row["owner_id"], 0),
                "moved_tier": row["moved_tier"],
            }
        )
    cards.sort(key=lambda c: (-c["change"], c["manager"].username if c["manager"] else ""))
    return cards
