"""The running purchase summary of each customer (valuation.models.CustomerSummary).

`summary_record_interaction` folds one new interaction in, inside the transaction that logs it
and under the lock of the customer's figures row (interaction_log bumps its version first),
so concurrent interactions for one customer fold in one after the other.
`customer_summaries_rebuild` computes summaries from scratch in bulk; a recompute from the
summary equals a recompute from the full history (tests/valuation/test_summary.py).
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.statements import row_get_locked, row_update, rows_upsert
from interactions.choices import SERVICE_TYPES, InteractionType
from interactions.models import Interaction, OrderLine

from .models import CustomerSummary

MONEY = DecimalField(max_digits=18, decimal_places=4)
LINE_REVENUE = ExpressionWrapper(F("quantity") * F("unit_price") * (1 - F("discount")), MONEY)
LINE_COST = ExpressionWrapper(F("quantity") * F("unit_cost"), MONEY)


def order_totals(lines: Iterable) -> tuple[Decimal, Decimal]:
    """Revenue and margin of an order's lines (SPEC §5), in Decimal."""
    revenue = sum(
        (line.quantity * line.unit_price * (1 - line.discount) for line in lines), Decimal("0")
    )
    cost = sum((line.quantity * line.unit_cost for line in lines), Decimal("0"))
    return revenue, revenue - cost


def summary_record_interaction(
    *, interaction: Interaction, lines: Iterable, cost_to_serve: Decimal
) -> CustomerSummary:
    """Fold a newly logged interaction into its customer's summary, under the summary row's
    lock: concurrent interactions of one customer are folded one at a time, each seeing the
    ones committed before it. Two statements as a rule, the locked read and the write, each
    compiled once per process (core.statements: this runs on every interaction logged)."""
    summary = row_get_locked(CustomerSummary, key="customer_id", value=interaction.customer_id)
    if summary is None:  # the customer's first interaction
        summary, _ = CustomerSummary.objects.select_for_update().get_or_create(
            customer_id=interaction.customer_id
        )
    new_day = False
    if interaction.type == InteractionType.ORDER:
        day = timezone.localdate(interaction.occurred_at)
        first, last = summary.first_transaction_on, summary.last_transaction_on
        # Only a day within the ones already counted can have had an order before.
        new_day = (
            first is None
            or last is None
            or not first <= day <= last
            or not _other_order_on(interaction, day)
        )
    _fold(summary, interaction, lines, cost_to_serve, new_day=new_day)
    _check_in_range(summary)
    row_update(summary, SUMMARY_FIELDS)
    return summary


def _other_order_on(interaction: Interaction, day: date) -> bool:
    """Whether the customer has another order on `day` (the firm's calendar day): the day's
    bounds as instants, so the (customer, occurred_at) index answers."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    with connection.cursor() as cursor:
        cursor.execute(
            _OTHER_ORDER_SQL,
            [
                interaction.customer_id,
                InteractionType.ORDER.value,
                connection.ops.adapt_datetimefield_value(start),
                connection.ops.adapt_datetimefield_value(end),
                interaction.pk,
            ],
        )
        return cursor.fetchone() is not None


_OTHER_ORDER_SQL = (
    f"SELECT 1 FROM {Interaction._meta.db_table} WHERE customer_id = %s AND type = %s "
    "AND occurred_at >= %s AND occurred_at < %s AND id <> %s LIMIT 1"
)


def _fold(
    summary: CustomerSummary, interaction: Interaction, lines: Iterable, cost_to_serve, *, new_day
) -> None:
    """One interaction folded into a summary in memory (`new_day`: an order on a day without
    one before). Both folds, one at a time and in batches, apply exactly this."""
    summary.interactions += 1
    if summary.last_contact_at is None or interaction.occurred_at > summary.last_contact_at:
        summary.last_contact_at = interaction.occurred_at
    if interaction.type in SERVICE_TYPES:
        summary.service_interactions += 1
        summary.cost_to_serve_total += cost_to_serve
    if interaction.type != InteractionType.ORDER:
        return
    revenue, margin = order_totals(lines)
    day = timezone.localdate(interaction.occurred_at)
    if new_day:
        summary.transaction_days += 1
    first = summary.first_transaction_on
    if first is None or day < first:
        # A new (possibly back-dated) first day: the old first day becomes a repeat one.
        summary.first_transaction_on = day
        summary.first_day_revenue, summary.first_day_margin = revenue, margin
    elif day == first:
        summary.first_day_revenue += revenue
        summary.first_day_margin += margin
    if summary.last_transaction_on is None or day > summary.last_transaction_on:
        summary.last_transaction_on = day
    summary.revenue_total += revenue
    summary.margin_total += margin


SUMMARY_TOTALS = (
    "revenue_total",
    "margin_total",
    "first_day_revenue",
    "first_day_margin",
    "cost_to_serve_total",
)


def _check_in_range(summary: CustomerSummary) -> None:
    """Refuse an interaction whose totals would leave what the summary's columns hold (a
    database overflow inside the transaction would be a 500)."""
    for name in SUMMARY_TOTALS:
        # Every name in SUMMARY_TOTALS is a DecimalField of the model.
        field = cast(DecimalField, CustomerSummary._meta.get_field(name))
        limit = Decimal(10) ** (field.max_digits - field.decimal_places)
        if abs(getattr(summary, name)) >= limit:
            raise ValidationError(
                {
                    "lines": "The customer's running totals cannot hold this order: split it or "
                    "correct the amounts."
                }
            )


def customer_summaries_rebuild(
    *, customer_ids: Iterable[int] | None = None, channel_costs: dict[str, Decimal]
) -> int:
    """Recompute summaries from the full history with SQL aggregates. Returns how many."""
    orders = OrderLine.objects.filter(interaction__type=InteractionType.ORDER)
    services = Interaction.objects.filter(type__in=SERVICE_TYPES)
    if customer_ids is not None:
        customer_ids = list(customer_ids)
        orders = orders.filter(interaction__customer_id__in=customer_ids)
        services = services.filter(customer_id__in=customer_ids)
    orders = orders.annotate(
        customer=F("interaction__customer_id"), day=TruncDate("interaction__occurred_at")
    )
    # The plugin refuses "revenue" (a property of OrderLine) as an annotation and so drops it
    # from the rows' TypedDict: the rows are typed as plain dicts.
    totals = cast(
        "QuerySet[OrderLine, dict[str, Any]]",
        orders.values("customer")
        .annotate(
            days=Count("day", distinct=True),
            first=Min("day"),
            last=Max("day"),
            revenue=Sum(LINE_REVENUE),  # type: ignore[no-redef]  # a values() key, not set on instances
            cost=Sum(LINE_COST),
        )
        .order_by(),
    )
    # Each customer's first-day totals: per (customer, day) sums, kept where the day is the
    # customer's first (a window over the grouped rows). A plain GROUP BY whatever the table
    # statistics: a correlated "first day" subquery turned quadratic right after bulk loads.
    first_days: dict[int, Mapping[str, Any]] = {
        row["customer"]: row
        for row in orders.values("customer", "day")
        .annotate(revenue=Sum(LINE_REVENUE), cost=Sum(LINE_COST))  # type: ignore[no-redef]  # as above
        # A separate annotate(): in the same call the window would join the GROUP BY.
        .annotate(first=Window(Min("day"), partition_by=[F("customer")]))
        .filter(day=F("first"))
        .order_by()
    }
    summaries = {
        row["customer"]: CustomerSummary(
            customer_id=row["customer"],
            transaction_days=row["days"],
            first_transaction_on=row["first"],
            last_transaction_on=row["last"],
            revenue_total=row["revenue"],
            margin_total=row["revenue"] - row["cost"],
            first_day_revenue=first_days[row["customer"]]["revenue"],
            first_day_margin=first_days[row["customer"]]["revenue"]
            - first_days[row["customer"]]["cost"],
        )
        for row in totals
    }
    contacts = Interaction.objects.all()
    if customer_ids is not None:
        contacts = contacts.filter(customer_id__in=customer_ids)
    for row in (
        contacts.values("customer_id").annotate(n=Count("id"), last=Max("occurred_at")).order_by()
    ):
        summary = summaries.setdefault(
            row["customer_id"], CustomerSummary(customer_id=row["customer_id"])
        )
        summary.interactions, summary.last_contact_at = row["n"], row["last"]
    for service in services.values("customer_id", "channel").annotate(n=Count("id")).order_by():
        summary = summaries.setdefault(
            service["customer_id"], CustomerSummary(customer_id=service["customer_id"])
        )
        summary.service_interactions += service["n"]
        summary.cost_to_serve_total += service["n"] * channel_costs.get(
            service["channel"], Decimal("0")
        )

    # Customers with no history left (e.g. interactions deleted) lose their summary.
    outdated = CustomerSummary.objects.exclude(customer_id__in=list(summaries))
    if customer_ids is not None:
        outdated = outdated.filter(customer_id__in=customer_ids)
    outdated.delete()
    CustomerSummary.objects.bulk_create(
        summaries.values(),
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=[
            "interactions",
            "last_contact_at",
            "transaction_days",
            "first_transaction_on",
            "last_transaction_on",
            "revenue_total",
            "margin_total",
            "first_day_revenue",
            "first_day_margin",
            "service_interactions",
            "cost_to_serve_total",
        ],
    )
    return len(summaries)


# The order-line revenue of one customer's recent orders, for share of customer.
def revenue_since(*, customer_id: int, since) -> Decimal:
    total = OrderLine.objects.filter(
        Q(interaction__customer_id=customer_id)
        & Q(interaction__type=InteractionType.ORDER)
        & Q(interaction__occurred_at__gte=since)
    ).aggregate(total=Sum(LINE_REVENUE))["total"]
    return total or Decimal("0")


SUMMARY_FIELDS = [
    "interactions",
    "last_contact_at",
    "transaction_days",
    "first_transaction_on",
    "last_transaction_on",
    "revenue_total",
    "margin_total",
    "first_day_revenue",
    "first_day_margin",
    "service_interactions",
    "cost_to_serve_total",
]


def summaries_record_interactions(
    *,
    interactions: list[Interaction],
    lines: Mapping[int, list],
    customer_ids: list[int],
    channel_costs: Mapping[str, Decimal],
) -> None:
    """Fold a batch of newly logged interactions into their customers' summaries: exactly
    what summary_record_interaction does one at a time, in five statements for the batch.

    `lines`: each interaction's order lines, keyed by id() of the interaction. `customer_ids`:
    every customer of the batch, locked in id order (rows created first where missing), so
    batches and single writes that meet on a customer take turns and never deadlock.
    """
    customer_ids = sorted(set(customer_ids) | {i.customer_id for i in interactions})
    rows_upsert(
        [CustomerSummary(customer_id=customer_id) for customer_id in customer_ids],
        unique=["customer"],
    )
    summaries = {
        summary.customer_id: summary
        for summary in CustomerSummary.objects.select_for_update()
        .filter(customer_id__in=customer_ids)
        .order_by("customer_id")
    }
    orders = [i for i in interactions if i.type == InteractionType.ORDER]
    seen: set[tuple[int, Any]] = set()  # (customer, day) with an order before this one
    if orders:
        days = {timezone.localdate(order.occurred_at) for order in orders}
        seen = set(
            Interaction.objects.filter(
                customer_id__in={order.customer_id for order in orders},
                type=InteractionType.ORDER,
                occurred_at__date__in=days,
            )
            .exclude(pk__in=[order.pk for order in orders])
            .annotate(day=TruncDate("occurred_at"))
            .values_list("customer_id", "day")
            .distinct()
        )
    for interaction in interactions:
        new_day = False
        if interaction.type == InteractionType.ORDER:
            key = (interaction.customer_id, timezone.localdate(interaction.occurred_at))
            new_day = key not in seen
            seen.add(key)
        _fold(
            summaries[interaction.customer_id],
            interaction,
            lines.get(id(interaction), ()),
            channel_costs.get(interaction.channel, Decimal("0")),
            new_day=new_day,
        )
    touched = sorted({i.customer_id for i in interactions})
    for customer_id in touched:
        _check_in_range(summaries[customer_id])
    if touched:
        rows_upsert(
            [summaries[customer_id] for customer_id in touched],
            unique=["customer"],
            update_fields=SUMMARY_FIELDS,
        )
