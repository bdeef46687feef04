"""The next due action (SPEC §5): each customer's earliest open next step, due
replenishment or unanswered item, as SQL correlated on the customer."""

from datetime import date

from django.db.models import (
    DateField,
    Exists,
    F,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Least, NullIf, TruncDate

from customers.models import Customer
from interactions.choices import Direction
from interactions.models import Interaction
from replenishment.models import ReplenishmentSubscription
from replenishment.models import SubscriptionStatus as SubStatus

from ..models import TodoKind, TodoState, TodoStatus

FAR_FUTURE = date(9999, 12, 31)


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


def _not_done(interactions: QuerySet[Interaction], *, kind: str) -> QuerySet[Interaction]:
    """Less the to-dos of this kind a manager marked done (workspace.models.TodoState)."""
    done = TodoState.objects.filter(
        interaction_id=OuterRef("pk"), kind=kind, status=TodoStatus.DONE
    )
    return interactions.exclude(Exists(done))


def next_due_parts() -> dict[str, Subquery]:
    """Each customer's earliest open next step, due replenishment and unanswered item, as
    subqueries correlated on the customer (OuterRef("pk")); a to-do marked done does not
    count."""
    live = ReplenishmentSubscription.objects.filter(status=SubStatus.ACTIVE)
    next_steps = _not_done(open_next_steps(), kind=TodoKind.NEXT_STEP)
    unanswered = _not_done(unanswered_items(), kind=TodoKind.UNANSWERED).annotate(
        day=TruncDate("occurred_at")
    )
    return {
        "due_next_step": _earliest(next_steps, "next_step_due"),
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
