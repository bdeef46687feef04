"""Reads of the customer manager's workspace (SPEC §5, §6): each a fixed number of queries,
whatever the size of the portfolio, with the work done in SQL (annotations, subqueries,
GROUP BY), never in a Python loop over customers."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TypedDict, cast

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DateField,
    Exists,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Least, NullIf, TruncDate
from django.utils import timezone

from customers.models import Customer, CustomerFact, FactKind, LifecycleStatus
from interactions.choices import Direction, OfferOutcome
from interactions.models import Interaction, OrderLine
from offerings.models import Offering
from offerings.selectors import offerings_eligible_for, offerings_with_figures
from replenishment.models import PurchaseForecast, ReplenishmentSubscription
from replenishment.models import SubscriptionStatus as SubStatus
from replenishment.selectors import PredictedPurchase, live_subscription, replenishments_due
from valuation.declared import ValueTier
from valuation.models import CustomerFigures, CustomerSnapshot
from valuation.selectors import customer_figures_of

from .models import OfferingAffinity, PortfolioEquity

FAR_FUTURE = date(9999, 12, 31)
DUE_WITHIN_DAYS = 7
PREDICTION_GRACE_DAYS = 30
DECLINED_MEMORY_DAYS = 90
TODO_LIMIT = 50
MAP_LIMIT = 5000
GONE = [LifecycleStatus.LAPSED, LifecycleStatus.SHED]

# --- Next due action -----------------------------------------------------------------------


def open_next_steps() -> QuerySet[Interaction]:
    """Interactions carrying a next step with a due date that nobody followed up yet: no later
    outbound interaction with the customer was logged (our follow-up closes it)."""
    later = Interaction.objects.filter(
        customer_id=OuterRef("customer_id"),
        direction=Direction.OUTBOUND,
        occurred_at__gt=OuterRef("occurred_at"),
    )
    return Interaction.objects.filter(next_step_due__isnull=False).exclude(Exists(later))


def unanswered_items() -> QuerySet[Interaction]:
    """Items that need an answer and got none yet."""
    return Interaction.objects.filter(
        requires_response=True, first_response_at__isnull=True, resolved_at__isnull=True
    )


def _earliest(queryset, field) -> Subquery:
    return Subquery(
        queryset.filter(customer_id=OuterRef("pk"))
        .order_by()
        .values("customer_id")
        .annotate(first=Min(field))
        .values("first"),
        output_field=DateField(),
    )


def next_due_parts() -> dict[str, Subquery]:
    """Each customer's earliest open next step, due replenishment and unanswered item, as
    subqueries correlated on the customer (OuterRef("pk"))."""
    live = ReplenishmentSubscription.objects.filter(status=SubStatus.ACTIVE)
    unanswered = unanswered_items().annotate(day=TruncDate("occurred_at"))
    return {
        "due_next_step": _earliest(open_next_steps(), "next_step_due"),
        "due_replenishment": _earliest(live, "next_due"),
        "due_unanswered": _earliest(unanswered, "day"),
    }


def _earliest_of(parts) -> NullIf:
    far = Value(FAR_FUTURE, output_field=DateField())
    return NullIf(Least(*(Coalesce(part, far) for part in parts)), far)


def next_due_expression() -> NullIf:
    """The customer's next due action, for an UPDATE of the stored Customer.next_due_on."""
    return _earliest_of(next_due_parts().values())


def with_next_due_action(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """Annotate each customer's earliest due action: an open next step, a due replenishment
    or an unanswered item (``next_due`` is the earliest of the three, None if there is none).

    Correlated subqueries: PostgreSQL evaluates them for the rows of the page only. Sorting a
    whole portfolio by the next due action uses the stored ``Customer.next_due_on`` instead
    (kept by ``customers.services``), which is indexed.
    """
    parts = next_due_parts()
    return customers.annotate(**parts).annotate(next_due=_earliest_of(F(name) for name in parts))


def next_due_label(customer) -> str:
    """Which action the annotated ``next_due`` is, for the portfolio row."""
    if customer.next_due is None:
        return ""
    if customer.next_due == customer.due_unanswered:
        return "Answer open item"
    if customer.next_due == customer.due_next_step:
        return "Next step"
    return "Replenishment"


# --- Portfolio -----------------------------------------------------------------------------


def with_need(customers: QuerySet[Customer], *, category_id: int) -> QuerySet[Customer]:
    """Customers with a current need fact whose key is linked to the category."""
    need = CustomerFact.objects.filter(
        customer_id=OuterRef("pk"),
        is_current=True,
        key__kind=FactKind.NEED,
        key__category_id=category_id,
    )
    return customers.filter(Exists(need))


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


# --- To-do list ----------------------------------------------------------------------------


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


# --- Customer trends -----------------------------------------------------------------------


class TrendPoint(TypedDict):
    taken_on: date
    predicted_clv: Decimal | None
    p_alive: float | None
    share_of_customer: float | None
    experience_score: float | None


def customer_trends(*, customer_id: int, days: int = 730) -> list[TrendPoint]:
    since = timezone.localdate() - timedelta(days=days)
    return list(
        CustomerSnapshot.objects.filter(customer_id=customer_id, taken_on__gte=since)
        .order_by("taken_on")
        .values("taken_on", "predicted_clv", "p_alive", "share_of_customer", "experience_score")
    )


# --- Next best offerings -------------------------------------------------------------------


@dataclass
class NextBestOffering:
    offering: Offering
    score: float
    reason: str
    share: float
    margin: Decimal
    acceptance: float


def offer_acceptance_rates() -> dict[int, float]:
    """Per offering, the smoothed share of answered offers that were accepted:
    (accepted + 1) / (accepted + declined + 2), so an offering never offered scores 0.5."""
    rows = (
        Interaction.objects.filter(
            offer__isnull=False,
            offer_outcome__in=[OfferOutcome.ACCEPTED, OfferOutcome.DECLINED],
        )
        .order_by()
        .values("offer_id")
        .annotate(
            accepted=Count("id", filter=Q(offer_outcome=OfferOutcome.ACCEPTED)),
            declined=Count("id", filter=Q(offer_outcome=OfferOutcome.DECLINED)),
        )
    )
    return {r["offer_id"]: (r["accepted"] + 1) / (r["accepted"] + r["declined"] + 2) for r in rows}


def customer_open_needs(*, customer_id: int) -> list[int]:
    """Categories of the customer's current needs that we do not meet yet."""
    return list(
        CustomerFact.objects.filter(
            customer_id=customer_id,
            is_current=True,
            key__kind=FactKind.NEED,
            key__category__isnull=False,
        )
        .exclude(need_status="met_by_us")
        .values_list("key__category_id", flat=True)
    )


def customer_open_offers(*, customer_id: int) -> QuerySet[Interaction]:
    """Offers made to the customer whose answer is not recorded yet, newest first."""
    return (
        Interaction.objects.filter(customer_id=customer_id, offer__isnull=False, offer_outcome="")
        .select_related("offer")
        .order_by("-occurred_at", "-id")
    )


def next_best_offerings(*, customer: Customer, limit: int = 5) -> list[NextBestOffering]:
    """Ranked offerings for the customer (SPEC §5), a fixed number of queries.

    Candidates: active offerings eligible for the customer's segment and tier, and for their
    open needs when any are known; not held (ordered) already; not declined in the last 90 days
    and not offered in the last 90 days without an answer yet.

    score = co-occurrence share × expected margin × acceptance rate × P(alive), where the share
    is the highest share over the offerings the customer holds ("held by 38 % of customers who
    hold X"; for a customer holding nothing, the share of all buying customers who hold it),
    the expected margin is the offering's price minus its components' cost (at least 0), the
    acceptance rate is offer_acceptance_rates() (the outcome feedback) and P(alive) the
    customer's (0.5 when unknown).
    """
    held = set(
        OrderLine.objects.filter(interaction__customer_id=customer.pk)
        .order_by()
        .values_list("offering_id", flat=True)
        .distinct()
    )
    since = timezone.now() - timedelta(days=DECLINED_MEMORY_DAYS)
    recently = set(
        Interaction.objects.filter(
            customer_id=customer.pk,
            offer__isnull=False,
            occurred_at__gte=since,
            offer_outcome__in=[OfferOutcome.DECLINED, ""],
        ).values_list("offer_id", flat=True)
    )
    needs = customer_open_needs(customer_id=customer.pk) or None
    own = customer_figures_of(customer)
    eligible = offerings_eligible_for(
        customer=customer, tier=(own.tier if own else "") or None, needs=needs
    ).exclude(pk__in=held | recently)
    figures = {o.pk: o for o in offerings_with_figures().filter(pk__in=eligible.values("pk"))}
    if not figures:
        return []
    best: dict[int, tuple[float, str]] = {}
    if held:
        pairs = (
            OfferingAffinity.objects.filter(offering_id__in=held, other_id__in=list(figures))
            .select_related("offering")
            .order_by("other_id", "-share", "offering__name")
        )
        for pair in pairs:
            if pair.other_id not in best:
                best[pair.other_id] = (
                    pair.share,
                    f"held by {pair.share:.0%} of customers who hold {pair.offering.name}".replace(
                        "%", " %"
                    ),
                )
    else:
        buyers = OrderLine.objects.order_by().values("interaction__customer_id").distinct().count()
        holders = (
            OrderLine.objects.filter(offering_id__in=list(figures))
            .order_by()
            .values("offering_id")
            .annotate(n=Count("interaction__customer_id", distinct=True))
        )
        for row in holders:
            share = row["n"] / buyers if buyers else 0.0
            best[row["offering_id"]] = (
                share,
                f"held by {share:.0%} of our customers".replace("%", " %"),
            )
    acceptance = offer_acceptance_rates()
    p_alive = own.p_alive if own is not None and own.p_alive is not None else 0.5
    ranked = []
    for offering_id, (share, reason) in best.items():
        offering = figures[offering_id]
        margin = max(offering.margin, Decimal("0"))
        rate = acceptance.get(offering_id, 0.5)
        score = share * float(margin) * rate * p_alive
        ranked.append(NextBestOffering(offering, round(score, 4), reason, share, margin, rate))
    ranked.sort(key=lambda n: (-n.score, n.offering.name))
    return ranked[:limit]


# --- Manager scorecards --------------------------------------------------------------------


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
