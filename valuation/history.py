"""Figures as of past dates: every customer's inputs as they stood at the end of a day.

The reads are done once for the whole history (one query per kind of data, grouped in the
database, columns into NumPy); the inputs as of each date are then masks and `bincount`s over
those arrays, never a query or a Python loop per customer. `valuation.services
.customers_figures_history_build` feeds them to the same `compute_figures` as the
per-interaction and nightly recomputes and writes the snapshots dated then.

What "as of D" means for each input (docs/valuation.md, "History"): orders, service contacts,
satisfaction ratings and service-level answers up to the end of D; offering ratings rated by
then; the need facts recorded by then and not superseded by then; tenure from the customer's
first day to D. The annual wallet is the one known now (its history is not kept).
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db.models import Count, FloatField, Max, Min, OuterRef, Subquery, Sum
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from customers.models import (
    Customer,
    CustomerFact,
    CustomerKind,
    FactKind,
    NeedStatus,
)
from interactions.choices import SERVICE_TYPES, Direction, InteractionType
from interactions.models import Interaction, OfferingRating, OrderLine
from interactions.selectors import channel_costs, with_service_level

from .figures import FigureInputs
from .selectors import SIZE_FACT
from .summary import LINE_COST, LINE_REVENUE

# At most this many month ends are rebuilt (the trend charts show two years).
HISTORY_MONTHS = 36
YEAR_DAYS = 365


def month_ends(*, first: date, today: date, months: int = HISTORY_MONTHS) -> list[date]:
    """The last day of every month from `first`'s month to the last month that ended before
    `today` (today's figures are the live ones), the latest `months` of them."""
    days = []
    year, month = first.year, first.month
    while True:
        end = date(year, month, calendar.monthrange(year, month)[1])
        if end >= today:
            break
        days.append(end)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days[-months:] if months else []


def _day_numbers(values) -> np.ndarray:
    """Dates as whole days since 1970-01-01 (int64); None is a very late day."""
    out = np.array(
        [np.datetime64(v, "D") if v is not None else np.datetime64("NaT") for v in values]
    )
    days = out.astype("datetime64[D]").astype(np.int64)
    return np.where(np.isnat(out.astype("datetime64[D]")), np.iinfo(np.int64).max, days)


def _seconds(values) -> np.ndarray:
    """Aware datetimes as epoch seconds (float64); None is +inf (never)."""
    return np.array([v.timestamp() if v is not None else np.inf for v in values], dtype=float)


def day_number(day: date) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


def end_of_day_seconds(day: date) -> float:
    """The first moment after `day` in the current time zone, as epoch seconds."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min)).timestamp()


@dataclass(frozen=True)
class History:
    """Everything the inputs as of any date are drawn from. Per-row arrays carry `at`, the
    position of the row's customer in `customer_ids` (ascending)."""

    customer_ids: np.ndarray
    first_seen: np.ndarray  # day number: acquired_on, else the day the customer was created
    wallet_annual: np.ndarray  # NaN: unknown
    # Today's kind and size (no history of either is kept, as of the wallet).
    is_organization: np.ndarray
    people_served: np.ndarray  # NaN: unknown
    # One row per (customer, day with an order), in customer then day order.
    order_at: np.ndarray
    order_day: np.ndarray
    order_revenue: np.ndarray
    order_cost: np.ndarray
    # Service contacts (inquiries, complaints...): per (customer, day, channel), their cost.
    service_at: np.ndarray
    service_day: np.ndarray
    service_cost: np.ndarray
    # Satisfaction ratings (1-5) of interactions, by the day of the interaction.
    satisfaction_at: np.ndarray
    satisfaction_day: np.ndarray
    satisfaction: np.ndarray
    # Items that need an answer: when they came in, were answered (inf: never), were due
    # (inf: no target).
    item_at: np.ndarray
    item_in: np.ndarray
    item_answered: np.ndarray
    item_due: np.ndarray
    # Offering ratings, and the day each customer first held each offering.
    rating_at: np.ndarray
    rating_offering: np.ndarray
    rating_value: np.ndarray
    rating_when: np.ndarray
    held_at: np.ndarray
    held_offering: np.ndarray
    held_day: np.ndarray
    # Versions of need facts: recorded, superseded (inf: current, or retracted: see below).
    need_at: np.ndarray
    need_from: np.ndarray
    need_until: np.ndarray
    need_met: np.ndarray

    @property
    def first_day(self) -> int | None:
        """The earliest day anything happened (an order, a contact, a customer's first day)."""
        candidates = [self.first_seen, self.order_day, self.service_day, self.satisfaction_day]
        lows = [int(c.min()) for c in candidates if len(c)]
        return min(lows) if lows else None


def _positions(ids: np.ndarray, keys) -> np.ndarray:
    return np.searchsorted(ids, np.asarray(list(keys), dtype=np.int64))


def history_read() -> History:
    """The whole stored history in nine grouped queries."""
    customers = list(
        Customer.objects.order_by("pk").values_list(
            "pk", "wallet_annual", "acquired_on", "created_at", "kind"
        )
    )
    ids = np.array([row[0] for row in customers], dtype=np.int64)
    wallet = np.array([np.nan if row[1] is None else float(row[1]) for row in customers])
    is_organization = np.array([row[4] == CustomerKind.ORGANIZATION for row in customers], float)
    sizes = dict(
        CustomerFact.objects.filter(SIZE_FACT, is_current=True)
        .values_list("customer_id")
        .annotate(people=Max(Cast("value", FloatField())))
        .order_by()
    )
    people_served = np.array([sizes.get(int(pk), np.nan) for pk in ids], dtype=float)
    first_seen = _day_numbers(
        [row[2] if row[2] is not None else timezone.localdate(row[3]) for row in customers]
    )

    orders = list(
        OrderLine.objects.filter(interaction__type=InteractionType.ORDER)
        .values_list("interaction__customer_id", TruncDate("interaction__occurred_at"))
        .annotate(revenue=Sum(LINE_REVENUE), cost=Sum(LINE_COST))
        .order_by("interaction__customer_id", TruncDate("interaction__occurred_at"))
    )
    costs = {channel: float(cost) for channel, cost in channel_costs().items()}
    services = list(
        Interaction.objects.filter(type__in=SERVICE_TYPES)
        .values_list("customer_id", TruncDate("occurred_at"), "channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    satisfaction = list(
        Interaction.objects.filter(satisfaction__isnull=False)
        .values_list("customer_id", TruncDate("occurred_at"), "satisfaction")
        .order_by()
    )
    items = list(
        with_service_level(
            Interaction.objects.filter(requires_response=True, direction=Direction.INBOUND)
        )
        .values_list("customer_id", "occurred_at", "first_response_at", "response_due_at")
        .order_by()
    )
    ratings = list(
        OfferingRating.objects.values_list("customer_id", "offering_id", "rating", "rated_at")
    )
    held = list(
        OrderLine.objects.values_list("interaction__customer_id", "offering_id")
        .annotate(first=Min(TruncDate("interaction__occurred_at")))
        .order_by()
    )
    needs = list(
        CustomerFact.objects.filter(key__kind=FactKind.NEED)
        .annotate(
            until=Subquery(
                CustomerFact.objects.filter(supersedes=OuterRef("pk")).values("recorded_at")[:1]
            )
        )
        .values_list("customer_id", "recorded_at", "until", "is_current", "need_status")
    )
    # A version that is neither current nor superseded was retracted at a moment not kept:
    # it counts from its recording until now would overstate it, so it counts nowhere.
    needs = [row for row in needs if row[3] or row[2] is not None]

    def col(rows, n):
        return [row[n] for row in rows]

    return History(
        customer_ids=ids,
        first_seen=first_seen,
        wallet_annual=wallet,
        is_organization=is_organization,
        people_served=people_served,
        order_at=_positions(ids, col(orders, 0)),
        order_day=_day_numbers(col(orders, 1)),
        order_revenue=np.array([float(v) for v in col(orders, 2)], dtype=float),
        order_cost=np.array([float(v) for v in col(orders, 3)], dtype=float),
        service_at=_positions(ids, col(services, 0)),
        service_day=_day_numbers(col(services, 1)),
        service_cost=np.array([n * costs.get(ch, 0.0) for _, _, ch, n in services], dtype=float),
        satisfaction_at=_positions(ids, col(satisfaction, 0)),
        satisfaction_day=_day_numbers(col(satisfaction, 1)),
        satisfaction=np.array(col(satisfaction, 2), dtype=float),
        item_at=_positions(ids, col(items, 0)),
        item_in=_seconds(col(items, 1)),
        item_answered=_seconds(col(items, 2)),
        item_due=_seconds(col(items, 3)),
        rating_at=_positions(ids, col(ratings, 0)),
        rating_offering=np.array(col(ratings, 1), dtype=np.int64),
        rating_value=np.array(col(ratings, 2), dtype=float),
        rating_when=_seconds(col(ratings, 3)),
        held_at=_positions(ids, col(held, 0)),
        held_offering=np.array(col(held, 1), dtype=np.int64),
        held_day=_day_numbers(col(held, 2)),
        need_at=_positions(ids, col(needs, 0)),
        need_from=_seconds(col(needs, 1)),
        need_until=_seconds(col(needs, 2)),
        need_met=np.array([row[4] == NeedStatus.MET_BY_US for row in needs], dtype=bool),
    )


@dataclass(frozen=True)
class Transactions:
    """Transaction days up to a date, the shape valuation.numerics.rfm.rfm_summary takes."""

    customer_ids: np.ndarray
    days: np.ndarray  # datetime64[D]
    revenue: np.ndarray


@dataclass(frozen=True)
class InputsAsOf:
    day: date
    present: np.ndarray  # positions (in History.customer_ids) of the customers that existed
    inputs: FigureInputs
    transactions: Transactions


def _sum(at, weights, mask, n) -> np.ndarray:
    return np.bincount(at[mask], weights=weights[mask], minlength=n)


def _count(at, mask, n) -> np.ndarray:
    return np.bincount(at[mask], minlength=n).astype(float)


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)


def inputs_as_of(history: History, day: date) -> InputsAsOf:
    """Every customer's figure inputs from only what was known at the end of `day`."""
    h, n = history, len(history.customer_ids)
    d, end = day_number(day), end_of_day_seconds(day)

    bought = h.order_day <= d
    days_count = _count(h.order_at, bought, n)
    revenue = _sum(h.order_at, h.order_revenue, bought, n)
    cost = _sum(h.order_at, h.order_cost, bought, n)
    # Rows are in customer then day order: a customer's first kept row is their first day.
    kept = np.flatnonzero(bought)
    first_rows = kept[np.unique(h.order_at[kept], return_index=True)[1]]
    last_rows = kept[::-1][np.unique(h.order_at[kept][::-1], return_index=True)[1]]
    first_day = np.full(n, np.nan)
    last_day = np.full(n, np.nan)
    first_revenue = np.zeros(n)
    first_day[h.order_at[first_rows]] = h.order_day[first_rows]
    last_day[h.order_at[last_rows]] = h.order_day[last_rows]
    first_revenue[h.order_at[first_rows]] = h.order_revenue[first_rows]
    recent_orders = bought & (h.order_day > d - YEAR_DAYS)

    served = h.service_day <= d
    recent_service = served & (h.service_day > d - YEAR_DAYS)

    rated = h.satisfaction_day <= d
    satisfaction = _mean(
        _sum(h.satisfaction_at, h.satisfaction, rated, n), _count(h.satisfaction_at, rated, n)
    )

    # Service levels as interactions.selectors.service_level_stats_by_customer counts them,
    # at the end of the day: answered by then (in time or late), or unanswered and overdue.
    came_in = h.item_in < end
    answered = came_in & (h.item_answered < end) & np.isfinite(h.item_due)
    on_time = answered & (h.item_answered <= h.item_due)
    overdue = came_in & ~(h.item_answered < end) & (h.item_due < end)
    on_time_count = _count(h.item_at, on_time, n)
    due_count = _count(h.item_at, answered | overdue, n)
    on_time_share = _mean(on_time_count, due_count)

    # Ratings: the customer's own mean (every offering they rated), and others' mean of the
    # offerings the customer held by then, as interactions.selectors.ratings_by_customer.
    given = h.rating_when < end
    own_rating = _mean(_sum(h.rating_at, h.rating_value, given, n), _count(h.rating_at, given, n))
    others_rating = np.full(n, np.nan)
    if given.any() and len(h.held_at):
        offerings = int(max(h.rating_offering.max(), h.held_offering.max())) + 1
        total = np.bincount(
            h.rating_offering[given], weights=h.rating_value[given], minlength=offerings
        )
        count = np.bincount(h.rating_offering[given], minlength=offerings).astype(float)
        holding = h.held_day <= d
        pair_of_rating = h.rating_at[given].astype(np.int64) * offerings + h.rating_offering[given]
        mine = dict(zip(pair_of_rating.tolist(), h.rating_value[given].tolist(), strict=True))
        held_pair = h.held_at[holding].astype(np.int64) * offerings + h.held_offering[holding]
        my_rating = np.array([mine.get(p, np.nan) for p in held_pair.tolist()], dtype=float)
        mine_known = ~np.isnan(my_rating)
        held_offering = h.held_offering[holding]
        others_total = total[held_offering] - np.where(mine_known, my_rating, 0.0)
        others_n = count[held_offering] - mine_known
        # Only offerings someone rated count (the SQL joins the rated offerings).
        rated_offering = count[held_offering] > 0
        at = h.held_at[holding]
        others_rating = _mean(
            _sum(at, others_total, rated_offering, n), _sum(at, others_n, rated_offering, n)
        )

    known = (h.need_from < end) & ~(h.need_until < end)
    needs_known = _count(h.need_at, known, n)
    needs_met = _count(h.need_at, known & h.need_met, n)

    present = np.flatnonzero((h.first_seen <= d) | (days_count > 0))
    has_history = days_count > 0
    inputs = FigureInputs.of(
        transaction_days=days_count,
        days_since_first=np.where(has_history, d - first_day, np.nan),
        days_first_to_last=np.where(has_history, last_day - first_day, np.nan),
        revenue_total=revenue,
        margin_total=revenue - cost,
        first_day_revenue=first_revenue,
        cost_to_serve_total=_sum(h.service_at, h.service_cost, served, n),
        revenue_12m=_sum(h.order_at, h.order_revenue, recent_orders, n),
        cost_to_serve_12m=_sum(h.service_at, h.service_cost, recent_service, n),
        wallet_annual=h.wallet_annual,
        is_organization=h.is_organization,
        people_served=h.people_served,
        tenure_days=np.maximum(d - h.first_seen, 0).astype(float),
        own_rating=own_rating,
        others_rating=others_rating,
        on_time_share=on_time_share,
        satisfaction=satisfaction,
        needs_met=np.where(needs_known > 0, needs_met, np.nan),
        needs_known=np.where(needs_known > 0, needs_known, np.nan),
    )
    inputs = FigureInputs.of(
        **{name: getattr(inputs, name)[present] for name in FigureInputs.__dataclass_fields__}
    )
    transactions = Transactions(
        customer_ids=h.customer_ids[h.order_at[bought]],
        days=h.order_day[bought].astype("datetime64[D]"),
        revenue=h.order_revenue[bought],
    )
    return InputsAsOf(day, present, inputs, transactions)
