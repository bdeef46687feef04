"""The service-level report (issue 21): how responses (first and next replies: each item's
stored response due time) and resolutions went, by channel, type, person or the customer's
value tier, week by week, with the median time to a first response. Reads only; every figure
in a fixed number of queries whatever the number of items (grouped in SQL)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import numpy as np
from django.db import connection
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from customers.selectors import customers_visible_to

from .choices import Channel, InteractionType, ServiceTier
from .models import CustomerServiceTier, Interaction
from .selectors import ServiceLevelStats, _service_level_items, _stats_aggregates

RESPONSE_TIME = ExpressionWrapper(F("first_response_at") - F("occurred_at"), DurationField())


class _Median(Aggregate):
    """PostgreSQL's exact median (PERCENTILE_CONT); other databases use `_median_in_python`."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


@dataclass(frozen=True)
class ResolutionStats:
    """Items with a resolution target, by how their resolution went."""

    resolved_by_due: int
    resolved_late: int
    open_overdue: int
    open_pending: int

    @property
    def breaches(self) -> int:
        return self.resolved_late + self.open_overdue

    @property
    def share_in_time(self) -> Decimal | None:
        decided = self.resolved_by_due + self.breaches
        return Decimal(self.resolved_by_due) / Decimal(decided) if decided else None


def _resolution_aggregates(now: datetime) -> dict:
    # resolved_in_time is stored with the resolution (services.interaction_resolve).
    return {
        "resolved_by_due": Count("pk", filter=Q(resolved_in_time=True)),
        "resolved_late": Count("pk", filter=Q(resolved_in_time=False)),
        "open_overdue": Count("pk", filter=Q(resolved_at__isnull=True, resolution_due_at__lt=now)),
        "open_pending": Count("pk", filter=Q(resolved_at__isnull=True, resolution_due_at__gte=now)),
    }


@dataclass
class ReportRow:
    key: str
    label: str
    stats: ServiceLevelStats
    median_hours: float | None
    resolution: ResolutionStats

    @property
    def share_in_time(self) -> Decimal | None:
        return self.stats.share_in_time


def _items(*, user, since: date, until: date, now: datetime) -> QuerySet[Interaction]:
    return _service_level_items(now).filter(
        customer__in=customers_visible_to(user).values("pk"),
        occurred_at__date__gte=since,
        occurred_at__date__lte=until,
    )


def _with_tier(items: QuerySet[Interaction]) -> QuerySet[Interaction]:
    """The customer's value tier today (the copy interactions keeps for the policies; ""
    when none), as `tier`: a tier's items are those of its customers now, as the policies
    choose them."""
    return items.annotate(
        tier=Coalesce(
            Subquery(
                CustomerServiceTier.objects.filter(customer_id=OuterRef("customer_id")).values(
                    "tier"
                )[:1]
            ),
            Value(""),
            output_field=CharField(),
        )
    )


def _medians(items: QuerySet[Interaction], field: str) -> dict:
    """Median hours to the first response per value of `field` (one query)."""
    answered = items.filter(first_response_at__isnull=False).order_by()
    if connection.vendor == "postgresql":
        rows = answered.values(field).annotate(median=_Median(RESPONSE_TIME))
        return {row[field]: row["median"].total_seconds() / 3600 for row in rows if row["median"]}
    # Elsewhere (the embedded SQLite): the durations, grouped and reduced with numpy.
    values = np.array(
        [
            (key, (answered_at - occurred).total_seconds())
            for key, answered_at, occurred in answered.values_list(
                field, "first_response_at", "occurred_at"
            )
        ],
        dtype=object,
    )
    if not len(values):
        return {}
    return {
        key: float(np.median(values[values[:, 0] == key][:, 1].astype(float))) / 3600
        for key in set(values[:, 0])
    }


DIMENSIONS = {
    "channel": ("channel", dict(Channel.choices)),
    "type": ("type", dict(InteractionType.choices)),
    "person": ("assignee", None),
    "tier": ("tier", dict(ServiceTier.choices)),
}
NO_VALUE = {"person": "Nobody (unassigned)", "tier": "No tier yet"}


def service_level_report(
    *, user, since: date, until: date, by: str = "channel", now: datetime | None = None
) -> dict:
    """Attainment of the response targets (first response or next reply within its due
    time) and of the resolution targets, by `by` (channel, type, person or tier) over the
    items logged from `since` to `until` that the user may see, with a weekly series of the
    response share for the chart and the whole period's totals. Five queries (six by person:
    the names)."""
    now = now or timezone.now()
    field, labels = DIMENSIONS[by]
    items = _items(user=user, since=since, until=until, now=now)
    if by == "tier":
        items = _with_tier(items)
    aggregates = _stats_aggregates(now)
    resolution = _resolution_aggregates(now)
    medians = _medians(items, field)
    names: dict = {}
    if by == "person":
        names = {
            row["assignee"]: (
                " ".join(p for p in (row["assignee__first_name"], row["assignee__last_name"]) if p)
                or row["assignee__username"]
            )
            for row in items.order_by()
            .values("assignee", "assignee__first_name", "assignee__last_name", "assignee__username")
            .distinct()
            if row["assignee"] is not None
        }

    def label(value) -> str:
        return (labels or {}).get(value) or names.get(value) or NO_VALUE.get(by) or str(value)

    rows = [
        ReportRow(
            key=str(row[field] or ""),
            label=label(row[field]),
            stats=ServiceLevelStats(**{name: row[name] for name in aggregates}),
            median_hours=medians.get(row[field]),
            resolution=ResolutionStats(**{name: row[name] for name in resolution}),
        )
        for row in items.order_by()
        .values(field)
        .annotate(**aggregates, **resolution)
        .order_by(field)
    ]
    weekly: dict[str, dict[str, float | None]] = {}
    for row in (
        items.annotate(week=TruncWeek("occurred_at"))
        .order_by()
        .values("week", field)
        .annotate(**aggregates)
        .order_by("week")
    ):
        stats = ServiceLevelStats(**{name: row[name] for name in aggregates})
        share = stats.share_in_time
        weekly.setdefault(row["week"].date().isoformat(), {})[label(row[field])] = (
            None if share is None else round(float(share) * 100, 1)
        )
    totals = items.order_by().aggregate(**aggregates, **resolution)
    total = ServiceLevelStats(**{name: totals[name] for name in aggregates})
    overall_median = _medians(items.annotate(all=F("requires_response")), "all").get(True)
    return {
        "rows": rows,
        "total": total,
        "resolution": ResolutionStats(**{name: totals[name] for name in resolution}),
        "median_hours": overall_median,
        "weeks": sorted(weekly),
        "series": {
            name: [weekly[week].get(name) for week in sorted(weekly)]
            for name in sorted({name for values in weekly.values() for name in values})
        },
    }
