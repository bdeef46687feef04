"""The service-level report (issue 21): how first responses went, by channel, type and
person, week by week, with the median time to a first response. Reads only; every figure in a
fixed number of queries whatever the number of items (grouped in SQL)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import numpy as np
from django.db import connection
from django.db.models import Aggregate, DurationField, ExpressionWrapper, F, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from customers.selectors import customers_visible_to

from .choices import Channel, InteractionType
from .models import Interaction
from .selectors import ServiceLevelStats, _service_level_items, _stats_aggregates

RESPONSE_TIME = ExpressionWrapper(F("first_response_at") - F("occurred_at"), DurationField())


class _Median(Aggregate):
    """PostgreSQL's exact median (PERCENTILE_CONT); other databases use `_median_in_python`."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


@dataclass
class ReportRow:
    key: str
    label: str
    stats: ServiceLevelStats
    median_hours: float | None

    @property
    def share_in_time(self) -> Decimal | None:
        return self.stats.share_in_time


def _items(*, user, since: date, until: date, now: datetime) -> QuerySet[Interaction]:
    return _service_level_items(now).filter(
        customer__in=customers_visible_to(user).values("pk"),
        occurred_at__date__gte=since,
        occurred_at__date__lte=until,
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
}


def service_level_report(
    *, user, since: date, until: date, by: str = "channel", now: datetime | None = None
) -> dict:
    """Attainment (first response within target) by `by` (channel, type or person) over the
    items logged from `since` to `until` that the user may see, with a weekly series for the
    chart and the whole period's totals. Six queries."""
    now = now or timezone.now()
    field, labels = DIMENSIONS[by]
    items = _items(user=user, since=since, until=until, now=now)
    aggregates = _stats_aggregates(now)
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
    rows = [
        ReportRow(
            key=str(row[field] or ""),
            label=(labels or {}).get(row[field]) or names.get(row[field]) or "Nobody (unassigned)",
            stats=ServiceLevelStats(**{name: row[name] for name in aggregates}),
            median_hours=medians.get(row[field]),
        )
        for row in items.order_by().values(field).annotate(**aggregates).order_by(field)
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
        label = (labels or {}).get(row[field]) or names.get(row[field]) or "Nobody (unassigned)"
        weekly.setdefault(row["week"].date().isoformat(), {})[label] = (
            None if share is None else round(float(share) * 100, 1)
        )
    total = ServiceLevelStats(**items.order_by().aggregate(**aggregates))
    overall_median = _medians(items.annotate(all=F("requires_response")), "all").get(True)
    return {
        "rows": rows,
        "total": total,
        "median_hours": overall_median,
        "weeks": sorted(weekly),
        "series": {
            label: [weekly[week].get(label) for week in sorted(weekly)]
            for label in sorted({label for values in weekly.values() for label in values})
        },
    }
