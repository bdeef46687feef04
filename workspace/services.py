"""Writes of the manager's workspace: the customers' agendas (next due action), the
co-occurrence refresh, the equity record, offers and what managers do with their to-dos
(SPEC §5)."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.roles import Role, role_of
from core import bounds
from customers.models import Customer
from interactions.choices import Direction, InteractionType
from interactions.models import Interaction, OrderLine
from interactions.services import interaction_log
from offerings.models import Offering
from valuation.models import CustomerSnapshot

from .models import (
    CustomerAgenda,
    OfferingAffinity,
    PortfolioEquity,
    TodoKind,
    TodoState,
    TodoStatus,
)
from .selectors.next_due import next_due_expression


def customer_agendas_refresh(*, customer_ids: Iterable[int] | None = None) -> int:
    """Store the next due action and owner of these customers (default: all) in their agenda,
    in one INSERT ... SELECT ... ON CONFLICT: a customer without an agenda row gets one.
    Run by workspace/handlers.py for the events that move the next due action (interactions,
    subscriptions, deliveries, owner changes, recomputes, bulk loads)."""
    customers = Customer.objects.all()
    if customer_ids is not None:
        customers = customers.filter(pk__in=list(customer_ids))
    rows = (
        customers.order_by()
        .annotate(due=next_due_expression())
        .values_list("pk", "owner_id", "due")
    )
    select, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(CustomerAgenda._meta.db_table)
    with connection.cursor() as cursor:
        # "WHERE true": SQLite needs a WHERE before ON CONFLICT in an INSERT ... SELECT.
        cursor.execute(
            f"""
            INSERT INTO {table} (customer_id, owner_id, next_due_on)
            SELECT * FROM ({select}) AS due WHERE true
            ON CONFLICT (customer_id) DO UPDATE
            SET owner_id = excluded.owner_id, next_due_on = excluded.next_due_on
            """,
            params,
        )
        return cursor.rowcount


@transaction.atomic
def offering_affinities_refresh() -> int:
    """Rebuild every OfferingAffinity in one INSERT ... SELECT over the whole base.

    "Hold" = ordered at least once (any order line). For every ordered pair (A, B), A != B:
    customers_both = customers holding both, holders = customers holding A,
    share = customers_both / holders. Idempotent: the table is replaced in one transaction.
    """
    affinity = OfferingAffinity._meta.db_table
    line = OrderLine._meta.db_table
    interaction = Interaction._meta.db_table
    holds = (
        f"SELECT DISTINCT i.customer_id AS customer_id, l.offering_id AS offering_id "
        f"FROM {line} l JOIN {interaction} i ON i.id = l.interaction_id"
    )
    OfferingAffinity.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH holds AS ({holds}),
                 holders AS (SELECT offering_id, COUNT(*) AS n FROM holds GROUP BY offering_id)
            INSERT INTO {affinity}
                (offering_id, other_id, customers_both, holders, share, computed_at)
            SELECT a.offering_id, b.offering_id, COUNT(*), h.n,
                   CAST(COUNT(*) AS DOUBLE PRECISION) / h.n, %s
            FROM holds a
            JOIN holds b ON b.customer_id = a.customer_id AND b.offering_id <> a.offering_id
            JOIN holders h ON h.offering_id = a.offering_id
            GROUP BY a.offering_id, b.offering_id, h.n
            """,
            [timezone.now()],
        )
        return cursor.rowcount


# What PortfolioEquity.equity (18 digits, 2 places) holds; a larger sum is clamped to it.
EQUITY_MAX = Decimal("9999999999999999.99")


def portfolio_equity_record(*, day: date | None = None) -> int:
    """Record every manager's customer equity and customer count for `day` (default today):
    one GROUP BY over the customers. Run nightly just before midnight; running it again the
    same day replaces the day's row."""
    day = day or timezone.localdate()
    now = timezone.now()
    rows = (
        Customer.objects.filter(owner__isnull=False)
        .order_by()
        .values("owner_id")
        .annotate(equity=Coalesce(Sum("figures__predicted_clv"), Decimal(0)), customers=Count("id"))
    )
    return len(
        PortfolioEquity.objects.bulk_create(
            [
                PortfolioEquity(
                    manager_id=row["owner_id"],
                    day=day,
                    equity=max(min(row["equity"], EQUITY_MAX), -EQUITY_MAX),
                    customers=row["customers"],
                    recorded_at=now,
                )
                for row in rows
            ],
            update_conflicts=True,
            unique_fields=["manager", "day"],
            update_fields=["equity", "customers", "recorded_at"],
        )
    )


def portfolio_equity_history_record(*, days: Iterable[date]) -> int:
    """Every manager's customer equity on past days from the customers' snapshots of those
    days (the history valuation rebuilds: valuation.services.customers_figures_history_build),
    by their current owner, as the nightly record counts them: one GROUP BY for all the
    days. A day's row is replaced. Returns how many rows were written."""
    days = sorted(set(days))
    if not days:
        return 0
    now = timezone.now()
    rows = (
        CustomerSnapshot.objects.filter(taken_on__in=days, customer__owner__isnull=False)
        .order_by()
        .values("taken_on", owner_id=F("customer__owner_id"))
        .annotate(equity=Coalesce(Sum("predicted_clv"), Decimal(0)), customers=Count("id"))
    )
    return len(
        PortfolioEquity.objects.bulk_create(
            [
                PortfolioEquity(
                    manager_id=row["owner_id"],
                    day=row["taken_on"],
                    equity=max(min(row["equity"], EQUITY_MAX), -EQUITY_MAX),
                    customers=row["customers"],
                    recorded_at=now,
                )
                for row in rows
            ],
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["manager", "day"],
            update_fields=["equity", "customers", "recorded_at"],
        )
    )


def offer_make(
    *, customer: Customer, offering: Offering, made_by, channel: str = ""
) -> Interaction:
    """Record an outbound offer of the offering to the customer (an *offer* interaction)."""
    return interaction_log(
        customer=customer,
        logged_by=made_by,
        channel=channel or customer.preferred_channel or "email",
        direction=Direction.OUTBOUND,
        type=InteractionType.OFFER,
        subject=f"Offered {offering.name}",
        offer=offering,
        offer_outcome="",
    )


def workspace_customer_merge(*, survivor_id: int, duplicate_id: int) -> dict[str, dict]:
    """The duplicate's agenda goes (one row per customer, derived), the survivor's is
    refreshed from what it now holds, in the merge's transaction (workspace.handlers)."""
    dropped, _ = CustomerAgenda.objects.filter(customer_id=duplicate_id).delete()
    customer_agendas_refresh(customer_ids=[survivor_id])
    return {
        "workspace.CustomerAgenda.customer": {
            "dropped": dropped,
            "why": "derived: the survivor's is refreshed",
        }
    }


# --- What managers do with their to-dos ------------------------------------------------------

TODO_NOT_YOURS = "This to-do is not on your list."
TODO_NO_NEXT_STEP = "This interaction has no next step."
TODO_NO_ANSWER_WANTED = "This interaction does not wait for an answer."
TODO_SNOOZE_NOT_FUTURE = "Snooze until a day after today."
TODO_ASSIGNEE_NOT_A_MANAGER = "Hand to-dos only to an active customer manager or admin."


def todo_may_act(*, user, interaction: Interaction, state: TodoState | None) -> bool:
    """Admins act on any to-do; a manager on those of their own portfolio's customers and on
    those handed to them."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role != Role.MANAGER:
        return False
    handed = state is not None and state.assignee_id == user.pk
    return handed or interaction.customer.owner_id == user.pk


@transaction.atomic
def _todo_state_change(*, interaction: Interaction, kind: str, by, **changes) -> TodoState:
    """Lock (or create) the to-do's state, check who acts and that it is a to-do of that
    kind, and save the changes with who made them and when."""
    if kind not in TodoKind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(TodoKind.values)}."})
    if kind == TodoKind.NEXT_STEP and interaction.next_step_due is None:
        raise ValidationError({"kind": TODO_NO_NEXT_STEP})
    if kind == TodoKind.UNANSWERED and not interaction.requires_response:
        raise ValidationError({"kind": TODO_NO_ANSWER_WANTED})
    now = timezone.now()
    # The row first (ON CONFLICT DO NOTHING), then its lock: two first changes at once wait
    # for each other instead of one failing on the unique pair. A refusal below rolls the
    # new row back with the rest.
    TodoState.objects.bulk_create(
        [TodoState(interaction=interaction, kind=kind, changed_at=now)], ignore_conflicts=True
    )
    state = TodoState.objects.select_for_update().get(interaction=interaction, kind=kind)
    if not todo_may_act(user=by, interaction=interaction, state=state):
        raise PermissionDenied(TODO_NOT_YOURS)
    for name, value in changes.items():
        setattr(state, name, value)
    state.changed_by = by
    state.changed_at = now
    state.full_clean(validate_unique=False, validate_constraints=False)
    state.save()
    # A done (or reopened) to-do moves the customer's stored next due action.
    customer_agendas_refresh(customer_ids=[interaction.customer_id])
    return state


def todo_done(*, interaction: Interaction, kind: str, by) -> TodoState:
    """The to-do is done: it leaves every list and shows in the done history."""
    return _todo_state_change(
        interaction=interaction, kind=kind, by=by, status=TodoStatus.DONE, snoozed_until=None
    )


def todo_reopen(*, interaction: Interaction, kind: str, by) -> TodoState:
    """Back on the list (a done or snoozed to-do), with its assignee kept."""
    return _todo_state_change(
        interaction=interaction, kind=kind, by=by, status=TodoStatus.OPEN, snoozed_until=None
    )


def todo_snooze(*, interaction: Interaction, kind: str, by, until: date) -> TodoState:
    """Hidden until ``until`` (a day after today, within the planning window), then back."""
    if until <= timezone.localdate():
        raise ValidationError({"until": TODO_SNOOZE_NOT_FUTURE})
    try:
        bounds.validate_planned_on(until)
    except ValidationError as error:
        raise ValidationError({"until": error.messages}) from error
    return _todo_state_change(
        interaction=interaction, kind=kind, by=by, status=TodoStatus.OPEN, snoozed_until=until
    )


def todo_reassign(*, interaction: Interaction, kind: str, by, to) -> TodoState:
    """The to-do shows on ``to``'s list instead (an active manager or admin); handed back to
    the customer's manager, it is theirs again like any other."""
    if to is None or not to.is_active or role_of(to) not in (Role.MANAGER, Role.ADMIN):
        raise ValidationError({"to": TODO_ASSIGNEE_NOT_A_MANAGER})
    assignee = None if to.pk == interaction.customer.owner_id else to
    return _todo_state_change(interaction=interaction, kind=kind, by=by, assignee=assignee)
