"""The manager's to-do list (SPEC §5): what is due within a week, overdue first, less what
the managers did with it (workspace.models.TodoState: done, snoozed, handed to another)."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Aggregate,
    Exists,
    F,
    FilteredRelation,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from accounts.roles import Role, role_of
from core import hooks
from customers.models import Customer, LifecycleStatus
from interactions.models import Interaction
from replenishment.models import PurchaseForecast
from replenishment.selectors import (
    PredictedPurchase,
    live_subscription,
    replenishments_due,
)
from valuation.declared import ValueTier
from valuation.models import CustomerFigures, CustomerSnapshot

from ..models import TodoKind, TodoState, TodoStatus
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


def on_todo_list_of(
    interactions: QuerySet[Interaction], *, manager, kind: str, today: date
) -> QuerySet[Interaction]:
    """The interactions' to-dos of this kind on the manager's list: their customer's and not
    handed to another, or handed to them; not done; not snoozed past today. The state is a
    LEFT JOIN (its one row per interaction and kind), so the list stays one query."""
    return (
        interactions.annotate(
            state=FilteredRelation("todo_states", condition=Q(todo_states__kind=kind))
        )
        # One filter(): each filter() of a to-many relation would join it again.
        .filter(
            Q(state__assignee_id=manager.pk)
            | Q(state__assignee_id__isnull=True, customer__owner=manager),
            Q(state__status__isnull=True) | Q(state__status=TodoStatus.OPEN),
            Q(state__snoozed_until__isnull=True) | Q(state__snoozed_until__lte=today),
        )
    )


def todo_interactions_for(user) -> QuerySet[Interaction]:
    """The interactions whose to-dos the user may act on (workspace.services.todo_may_act):
    admins all, a manager their portfolio's and those handed to them, others none."""
    role = role_of(user)
    interactions = Interaction.objects.select_related("customer")
    if role == Role.ADMIN:
        return interactions
    if role != Role.MANAGER:
        return interactions.none()
    handed = TodoState.objects.filter(interaction_id=OuterRef("pk"), assignee=user)
    return interactions.filter(Q(customer__owner=user) | Exists(handed))


def todo_assignees() -> QuerySet:
    """Who a to-do may be handed to: active customer managers and admins, by name."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=[Role.MANAGER, Role.ADMIN]))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def todos_done(*, manager, limit: int = TODO_LIMIT) -> QuerySet[TodoState]:
    """The to-dos done of the manager's customers and of those handed to them, latest first,
    with who did them and when."""
    return (
        TodoState.objects.filter(status=TodoStatus.DONE)
        .filter(Q(interaction__customer__owner=manager) | Q(assignee=manager))
        .select_related("interaction__customer", "changed_by")
        .order_by("-changed_at", "-id")[:limit]
    )


def customer_todos_done(*, customer_id: int, limit: int = TODO_LIMIT) -> QuerySet[TodoState]:
    """The customer's done to-dos, latest first, with who did them and when (their page)."""
    return (
        TodoState.objects.filter(status=TodoStatus.DONE, interaction__customer_id=customer_id)
        .select_related("interaction", "changed_by")
        .order_by("-changed_at", "-id")[:limit]
    )


@dataclass
class TodoList:
    next_steps: list
    replenishments: list
    predicted: list
    unanswered: list
    at_risk: list
    # Reviews of the manager's customers waiting for staff's answer (the portal's, through
    # core.hooks "todo.reviews": the workspace does not import the portal).
    reviews: list = field(default_factory=list)
    # Ideas of the manager's customers with no answer yet ("todo.ideas"; admins answer them).
    ideas: list = field(default_factory=list)

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
                self.reviews,
                self.ideas,
            )
        )


def manager_todo(*, manager, today: date | None = None) -> TodoList:
    """Everything due for the manager's customers within a week (overdue first), and the
    next steps and unanswered items handed to them, less those done or snoozed. A fixed
    number of queries; each list is capped at TODO_LIMIT."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=DUE_WITHIN_DAYS)
    next_steps = list(
        on_todo_list_of(open_next_steps(), manager=manager, kind=TodoKind.NEXT_STEP, today=today)
        .filter(next_step_due__lte=horizon)
        .select_related("customer__owner")
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
    # Oldest first: the longest without an answer is the most overdue.
    unanswered = list(
        on_todo_list_of(unanswered_items(), manager=manager, kind=TodoKind.UNANSWERED, today=today)
        .select_related("customer__owner")
        .order_by("occurred_at", "id")[:TODO_LIMIT]
    )
    return TodoList(
        next_steps=next_steps,
        replenishments=replenishments,
        predicted=predicted,
        unanswered=unanswered,
        at_risk=list(at_risk_customers(manager=manager)),
        reviews=[
            entry
            for provider in hooks.provided("todo.reviews")
            for entry in provider(manager=manager)
        ],
        ideas=[
            entry
            for provider in hooks.provided("todo.ideas")
            for entry in provider(manager=manager)
        ],
    )
