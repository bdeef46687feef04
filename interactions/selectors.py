"""Reads of interactions: timelines, the support queue, service levels, search, ratings.

Service levels (SPEC §5): each item's due times are stored on it (interactions.due_times, in
clock or business hours as its policy says), so the queue orders by urgency in the database
with a fixed number of queries; the target and the time left are annotations.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    DateTimeField,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from accounts.models import StaffAvailability
from customers.selectors import customers_visible_to, scoped_to_customers
from offerings.models import Offering

from .choices import Channel, Direction
from .due_times import LATEST_SAFE_OCCURRED_AT, due_at_for
from .models import (
    ChannelCost,
    Interaction,
    Notice,
    OfferingRating,
    OrderLine,
    ServiceLevelTarget,
)

__all__ = ["LATEST_SAFE_OCCURRED_AT"]  # where it was first defined; tests import it from here

RECENT_INTERACTIONS_IN_QUEUE = 3


def customer_timeline(*, customer_id: int, with_amounts: bool = False) -> QuerySet[Interaction]:
    """Every interaction with the customer across channels, newest first; ``with_amounts``
    (for those who may see money) annotates each order with ``order_amount``, the revenue of
    its lines (OrderLine.revenue), summed in the database."""
    timeline = (
        Interaction.objects.filter(customer_id=customer_id)
        .select_related("logged_by", "offer", "assignee")
        .prefetch_related("lines__offering")
        .order_by("-occurred_at", "-id")
    )
    if with_amounts:
        timeline = timeline.annotate(order_amount=order_amount())
    return timeline


def order_amount() -> Subquery:
    """The revenue of an interaction's lines (None: no lines), as a correlated subquery: a
    join with GROUP BY would group by every selected column of the timeline."""
    revenue = ExpressionWrapper(
        F("quantity") * F("unit_price") * (Value(Decimal("1")) - F("discount")),
        output_field=DecimalField(max_digits=24, decimal_places=2),
    )
    return Subquery(
        OrderLine.objects.filter(interaction_id=OuterRef("pk"))
        .order_by()
        .values("interaction_id")
        .annotate(total=Sum(revenue))
        .values("total"),
        output_field=DecimalField(max_digits=24, decimal_places=2),
    )


def customer_open_items(*, customer_id: int) -> QuerySet[Interaction]:
    """Inbound items still waiting for an answer or a resolution, oldest first."""
    return Interaction.objects.filter(
        customer_id=customer_id, requires_response=True, resolved_at__isnull=True
    ).order_by("occurred_at")


# --- Channel costs -------------------------------------------------------------------------


def channel_costs() -> dict[str, Decimal]:
    """Cost per interaction for every channel; a channel the admin removed costs nothing."""
    costs = {channel: Decimal("0") for channel in Channel.values}
    costs.update(ChannelCost.objects.values_list("channel", "cost_per_interaction"))
    return costs


# --- Service levels ------------------------------------------------------------------------


def _target_hours() -> Subquery:
    """The first-response target of the outer interaction: its own channel's beats "any"."""
    return Subquery(
        # The any-tier policy's hours, for display: a tier's own policy shows in the due time.
        ServiceLevelTarget.objects.filter(type=OuterRef("type"), tier="")
        .filter(Q(channel=OuterRef("channel")) | Q(channel=""))
        .order_by("-channel")  # a named channel sorts before the empty "any channel"
        .values("first_response_hours")[:1],
        output_field=IntegerField(),
    )


def with_service_level(
    interactions: QuerySet[Interaction], *, now: datetime | None = None
) -> QuerySet[Interaction]:
    """Annotate `response_target_hours` and `response_time_left` beside the stored
    `response_due_at` (interactions.due_times: the policy's clock or business hours, written
    when the item is logged and when a policy, calendar or tier changes).

    `response_time_left` is negative when the item is overdue, and stays where it was while
    the item waits on the customer (the clock is stopped). Items of a type without a target
    have NULL in all three.
    """
    now = now or timezone.now()
    return interactions.annotate(response_target_hours=_target_hours()).annotate(
        response_time_left=Case(
            When(
                waiting_since__isnull=False,
                then=ExpressionWrapper(
                    F("response_due_at") - F("waiting_since"), output_field=DurationField()
                ),
            ),
            default=ExpressionWrapper(
                F("response_due_at") - Value(now, output_field=DateTimeField()),
                output_field=DurationField(),
            ),
            output_field=DurationField(),
        )
    )


def response_due_at(*, type: str, channel: str, occurred_at: datetime) -> datetime | None:
    """The first-response due time an item of no tier would store (interactions.due_times)."""
    return due_at_for(type=type, channel=channel, occurred_at=occurred_at)


@dataclass(frozen=True)
class ServiceLevelStats:
    """Inbound items with a target, by how their first response went."""

    answered_in_time: int
    answered_late: int
    unanswered_overdue: int
    unanswered_pending: int

    @property
    def breaches(self) -> int:
        return self.answered_late + self.unanswered_overdue

    @property
    def decided(self) -> int:
        """Items whose outcome is known: answered, or past their due time without an answer."""
        return self.answered_in_time + self.breaches

    @property
    def share_in_time(self) -> Decimal | None:
        if not self.decided:
            return None
        return Decimal(self.answered_in_time) / Decimal(self.decided)


def _service_level_items(now: datetime) -> QuerySet[Interaction]:
    return with_service_level(
        Interaction.objects.filter(requires_response=True, direction=Direction.INBOUND),
        now=now,
    ).filter(response_due_at__isnull=False)


def _stats_aggregates(now: datetime) -> dict:
    return {
        "answered_in_time": Count("pk", filter=Q(first_response_at__lte=F("response_due_at"))),
        "answered_late": Count("pk", filter=Q(first_response_at__gt=F("response_due_at"))),
        "unanswered_overdue": Count(
            "pk", filter=Q(first_response_at__isnull=True, response_due_at__lt=now)
        ),
        "unanswered_pending": Count(
            "pk", filter=Q(first_response_at__isnull=True, response_due_at__gte=now)
        ),
    }


def service_level_stats(
    *, customer_id: int | None = None, now: datetime | None = None
) -> ServiceLevelStats:
    """Service level overall, or for one customer when `customer_id` is given. One query."""
    now = now or timezone.now()
    items = _service_level_items(now)
    if customer_id is not None:
        items = items.filter(customer_id=customer_id)
    return ServiceLevelStats(**items.aggregate(**_stats_aggregates(now)))


def customer_service_level_stats(
    customer_id: int, *, now: datetime | None = None
) -> ServiceLevelStats:
    """For the experience score (SPEC §5, C term): `stats.answered_in_time` of `stats.decided`
    items were answered within target; `stats.share_in_time` is that share, None if none."""
    return service_level_stats(customer_id=customer_id, now=now)


def service_level_breaches_by_customer(*, now: datetime | None = None) -> dict[int, int]:
    """Breaches (answered late, or unanswered past due) per customer who has any. One query."""
    now = now or timezone.now()
    rows = (
        _service_level_items(now)
        .filter(
            Q(first_response_at__gt=F("response_due_at"))
            | Q(first_response_at__isnull=True, response_due_at__lt=now)
        )
        .order_by()
        .values("customer_id")
        .annotate(breaches=Count("pk"))
        .values_list("customer_id", "breaches")
    )
    return dict(rows)


# --- Support queue -------------------------------------------------------------------------


# The queue's order is the partial index interaction_queue_idx's (models.Interaction): its
# first page reads 50 index entries instead of sorting every open item (676 ms at 100,000).
QUEUE_ANSWERED = ExpressionWrapper(Q(first_response_at__isnull=False), output_field=BooleanField())


def support_queue(
    *, user, filters: dict | None = None, now: datetime | None = None
) -> QuerySet[Interaction]:
    """Open inbound items that need a response, most urgent first (SPEC §6).

    Unanswered items come first, by due time (so the most overdue first, then the least time
    left), then items without a target; answered-but-unresolved items follow. Each row carries
    its customer and the customer's last interactions (`customer.recent_interactions`): three
    queries whatever the length of the queue.
    """
    filters = filters or {}
    items = Interaction.objects.filter(
        customer__in=customers_visible_to(user).values("pk"),
        direction=Direction.INBOUND,
        requires_response=True,
        resolved_at__isnull=True,
    )
    if filters.get("channel"):
        items = items.filter(channel=filters["channel"])
    if filters.get("type"):
        items = items.filter(type=filters["type"])
    assignee = filters.get("assignee")
    if assignee == "me":
        items = items.filter(assignee=user)
    elif assignee == "none":
        items = items.filter(assignee__isnull=True)
    elif assignee:
        items = items.filter(assignee_id=assignee)
    recent = Interaction.objects.order_by("-occurred_at", "-id")[:RECENT_INTERACTIONS_IN_QUEUE]
    return (
        with_service_level(items, now=now)
        .annotate(answered=QUEUE_ANSWERED)
        .select_related("customer", "assignee")
        .prefetch_related(
            Prefetch("customer__interactions", queryset=recent, to_attr="recent_interactions")
        )
        .order_by("answered", F("response_due_at").asc(nulls_last=True), "occurred_at", "id")
    )


# --- Search --------------------------------------------------------------------------------


def interactions_open(*, interactions: QuerySet[Interaction], open: bool = True):
    """Items that need a response and are not resolved yet (or, with open=False, the rest)."""
    condition = Q(requires_response=True, resolved_at__isnull=True)
    return interactions.filter(condition) if open else interactions.exclude(condition)


def interaction_search_text(
    *, interactions: QuerySet[Interaction], text: str
) -> QuerySet[Interaction]:
    text = text.strip()
    if not text:
        return interactions
    return interactions.filter(Q(subject__icontains=text) | Q(notes__icontains=text))


def interaction_search(*, user, filters: dict | None = None) -> QuerySet[Interaction]:
    """Interactions the user may see, filtered by text, customer, channel, type and dates."""
    filters = filters or {}
    items = Interaction.objects.filter(customer__in=customers_visible_to(user).values("pk"))
    items = interaction_search_text(interactions=items, text=filters.get("q") or "")
    customer = (filters.get("customer") or "").strip()
    if customer:
        items = items.filter(customer__name__icontains=customer)
    if filters.get("customer_id"):
        items = items.filter(customer_id=filters["customer_id"])
    for field in ("channel", "type", "direction"):
        if filters.get(field):
            items = items.filter(**{field: filters[field]})
    if filters.get("requires_response") is not None:
        items = items.filter(requires_response=filters["requires_response"])
    if filters.get("open") is not None:
        items = interactions_open(interactions=items, open=filters["open"])
    date_from: date | None = filters.get("date_from")
    date_to: date | None = filters.get("date_to")
    if date_from:
        items = items.filter(occurred_at__date__gte=date_from)
    if date_to:
        items = items.filter(occurred_at__date__lte=date_to)
    return items.select_related("customer", "logged_by", "offer", "assignee").order_by(
        "-occurred_at", "-id"
    )


# --- Offering ratings ----------------------------------------------------------------------


def customer_held_offerings(*, customer_id: int) -> QuerySet[Offering]:
    """Offerings the customer holds: those they ordered at least once."""
    return (
        Offering.objects.filter(order_lines__interaction__customer_id=customer_id)
        .distinct()
        .order_by("name")
    )


def offering_ratings(
    *, customer_id: int | None = None, offering_id: int | None = None
) -> QuerySet[OfferingRating]:
    """Current ratings (one per customer and offering), newest first."""
    ratings = OfferingRating.objects.select_related("offering", "recorded_by")
    if customer_id is not None:
        ratings = ratings.filter(customer_id=customer_id)
    if offering_id is not None:
        ratings = ratings.filter(offering_id=offering_id)
    return ratings.order_by("-rated_at", "-id")


def service_level_stats_by_customer(
    *, customer_ids=None, id_range: tuple[int, int] | None = None, now: datetime | None = None
) -> list[dict]:
    """Per customer (`customer_id` key), the counts of `ServiceLevelStats`. One query.

    Each item's due time is computed once, in a derived table, then counted four ways. On
    PostgreSQL the targets are joined (own channel, else any channel: the rule of
    `_target_hours`) instead of looked up per item: with the lookup inlined into each count,
    this was the costliest part of a recompute for a customer with a long history.
    """
    now = now or timezone.now()
    params: Sequence[Any]  # a list from _due_times_joined, a tuple from sql_with_params
    if connection.vendor == "postgresql":
        inner, params = _due_times_joined(customer_ids=customer_ids, id_range=id_range)
        if inner is None:
            return []
    else:
        # Elsewhere (the embedded SQLite default) the ORM's correlated lookup, in the same shape.
        items = scoped_to_customers(
            with_service_level(
                Interaction.objects.filter(requires_response=True, direction=Direction.INBOUND),
                now=now,
            ),
            customer_ids=customer_ids,
            id_range=id_range,
        )
        inner, params = (
            items.order_by().values("customer_id", "first_response_at", "response_due_at").query
        ).sql_with_params()
    at = connection.ops.adapt_datetimefield_value(now)
    sql = f"""
        SELECT customer_id,
               SUM(CASE WHEN first_response_at <= response_due_at THEN 1 ELSE 0 END),
               SUM(CASE WHEN first_response_at > response_due_at THEN 1 ELSE 0 END),
               SUM(CASE WHEN first_response_at IS NULL AND response_due_at < %s
                        THEN 1 ELSE 0 END),
               SUM(CASE WHEN first_response_at IS NULL AND response_due_at >= %s
                        THEN 1 ELSE 0 END)
        FROM ({inner}) items
        WHERE response_due_at IS NOT NULL
        GROUP BY customer_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, at, *params])  # in the order of the placeholders
        rows = cursor.fetchall()
    names = ("answered_in_time", "answered_late", "unanswered_overdue", "unanswered_pending")
    return [
        {"customer_id": row[0], **{name: int(n) for name, n in zip(names, row[1:], strict=True)}}
        for row in rows
    ]


def _due_times_joined(*, customer_ids, id_range) -> tuple[str | None, list]:
    """SQL for (customer_id, first_response_at, response_due_at) of the inbound items that
    need a response, with the service-level targets joined (PostgreSQL)."""
    params: list[Any]  # the direction, then a list of ids and the range bounds
    conditions, params = ["i.requires_response", "i.direction = %s"], [Direction.INBOUND]
    if customer_ids is not None:
        ids = list(customer_ids)
        if not ids:
            return None, []
        conditions.append("i.customer_id = ANY(%s)")
        params.append(ids)
    if id_range is not None:
        conditions.append("i.customer_id BETWEEN %s AND %s")
        params += list(id_range)
    # The due time is stored (interactions.due_times): nothing to join.
    sql = f"""
        SELECT i.customer_id, i.first_response_at, i.response_due_at
        FROM {Interaction._meta.db_table} i
        WHERE {" AND ".join(conditions)}
    """
    return sql, params


def ratings_by_customer(
    *, customer_ids=None, id_range: tuple[int, int] | None = None
) -> tuple[list[dict], list[dict]]:
    """Mean rating each customer gave the offerings they hold (product quality, SPEC §5 P),
    and mean rating *other* customers gave those offerings (O). Two queries.

    Others' mean is taken from each held offering's rating total and count, less the
    customer's own rating: the same mean as joining every other rating to every holder, without
    a join whose size grows with holders × raters (a minute at 100,000 customers).
    """
    own = scoped_to_customers(
        OfferingRating.objects.all(), customer_ids=customer_ids, id_range=id_range
    )
    own_rows = list(own.values("customer_id").annotate(mean=Avg("rating")).order_by())
    conditions, params = [], []
    if customer_ids is not None:
        ids = list(customer_ids)
        if not ids:
            return own_rows, []
        conditions.append(f"i.customer_id IN ({', '.join(['%s'] * len(ids))})")
        params += ids
    if id_range is not None:
        conditions.append("i.customer_id BETWEEN %s AND %s")
        params += list(id_range)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    # NUMERIC on PostgreSQL gives exactly what AVG(rating) gives; SQLite divides in REAL.
    exact = "NUMERIC" if connection.vendor == "postgresql" else "REAL"
    others = "rated.n - CASE WHEN mine.id IS NULL THEN 0 ELSE 1 END"
    sql = f"""
        WITH held AS (
            SELECT DISTINCT i.customer_id, l.offering_id
            FROM {OrderLine._meta.db_table} l
            JOIN {Interaction._meta.db_table} i ON i.id = l.interaction_id {where}
        ), rated AS (
            SELECT offering_id, SUM(rating) AS total, COUNT(*) AS n
            FROM {OfferingRating._meta.db_table}
            WHERE offering_id IN (SELECT offering_id FROM held)
            GROUP BY offering_id
        )
        SELECT held.customer_id,
               CAST(SUM(rated.total - COALESCE(mine.rating, 0)) AS {exact}) / SUM({others})
        FROM held
        JOIN rated ON rated.offering_id = held.offering_id
        LEFT JOIN {OfferingRating._meta.db_table} mine
          ON mine.customer_id = held.customer_id AND mine.offering_id = held.offering_id
        GROUP BY held.customer_id
        HAVING SUM({others}) > 0
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        others_rows = [{"customer_id": cid, "mean": mean} for cid, mean in cursor.fetchall()]
    return own_rows, others_rows


def customer_last_next_step(*, customer_id: int) -> Interaction | None:
    """The most recent interaction that set a next step, to pick up where we left off."""
    return (
        Interaction.objects.filter(customer_id=customer_id)
        .exclude(next_step="")
        .order_by("-occurred_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class QueueHealth:
    """The support queue in numbers, across every portfolio (the admins' overview)."""

    open: int  # inbound items that need a response and are not resolved
    unanswered: int
    overdue: int  # unanswered past their first-response target
    unassigned: int
    oldest_overdue_due_at: datetime | None


def support_queue_health(*, now: datetime | None = None) -> QueueHealth:
    """Open, unanswered, overdue and unassigned items of the whole queue. One query."""
    now = now or timezone.now()
    items = with_service_level(
        Interaction.objects.filter(
            direction=Direction.INBOUND, requires_response=True, resolved_at__isnull=True
        ),
        now=now,
    )
    overdue = Q(first_response_at__isnull=True, response_due_at__lt=now)
    row = items.aggregate(
        open=Count("pk"),
        unanswered=Count("pk", filter=Q(first_response_at__isnull=True)),
        overdue=Count("pk", filter=overdue),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        oldest=Min("response_due_at", filter=overdue),
    )
    return QueueHealth(
        open=row["open"],
        unanswered=row["unanswered"],
        overdue=row["overdue"],
        unassigned=row["unassigned"],
        oldest_overdue_due_at=row["oldest"],
    )


def notices_for(*, user):
    """The user's own escalation notices, unread first, with their items."""
    return (
        Notice.objects.filter(user_id=user.pk)
        .select_related("interaction__customer")
        .order_by(F("read_at").desc(nulls_first=True), "-created_at", "-id")
    )


def notices_unread_count(*, user) -> int:
    """The top bar's badge: one query (the unread partial index)."""
    return Notice.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def notice_emails_on(*, user) -> bool:
    """Whether the person's notices also come by e-mail (no row: yes)."""
    row = StaffAvailability.objects.filter(user_id=user.pk).values_list("notice_emails", flat=True)
    return next(iter(row), True)
