"""Writes on interactions. Logging an interaction is the start of the learning loop (SPEC §4)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm.dispatch import enqueue_on_commit
from customers.knowledge import FactInput, customer_fact_record
from customers.models import Customer
from customers.tasks import customer_recompute_figures
from valuation.summary import summary_record_interaction

from .choices import Direction, InteractionType
from .models import Interaction, OrderLine

NEEDS_RESPONSE_BY_DEFAULT = {InteractionType.INQUIRY, InteractionType.COMPLAINT}


def channel_cost(channel: str) -> Decimal:
    """Cost to serve one service contact on this channel (admin-set channel costs: issue 4)."""
    return Decimal("0")


@dataclass(frozen=True)
class OrderLineInput:
    offering_id: int
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    discount: Decimal = Decimal("0")


@transaction.atomic
def interaction_log(
    *,
    customer: Customer,
    logged_by,
    channel: str,
    direction: str,
    type: str,
    subject: str,
    notes: str = "",
    occurred_at: datetime | None = None,
    requires_response: bool | None = None,
    thread: Interaction | None = None,
    satisfaction: int | None = None,
    next_step: str = "",
    next_step_due: date | None = None,
    lines: Iterable[OrderLineInput] = (),
    facts: Iterable[FactInput] = (),
) -> Interaction:
    """Record an interaction with its order lines, and queue the customer's recompute.

    Everything is written in one transaction; the recompute is sent only after it commits.
    """
    if requires_response is None:
        requires_response = direction == Direction.INBOUND and type in NEEDS_RESPONSE_BY_DEFAULT
    interaction = Interaction(
        customer=customer,
        logged_by=logged_by,
        channel=channel,
        direction=direction,
        type=type,
        subject=subject,
        notes=notes,
        occurred_at=occurred_at or timezone.now(),
        requires_response=requires_response,
        thread=thread,
        satisfaction=satisfaction,
        next_step=next_step,
        next_step_due=next_step_due,
    )
    interaction.full_clean()
    interaction.save()
    order_lines = [
        OrderLine(
            interaction=interaction,
            offering_id=line.offering_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
            unit_cost=line.unit_cost,
            discount=line.discount,
        )
        for line in lines
    ]
    for line in order_lines:
        line.full_clean(exclude=["interaction"])
    OrderLine.objects.bulk_create(order_lines)
    # The figures are now stale: record it with the data, so a lost task is found again. The
    # update also locks the customer's row until commit, so the running summary below folds
    # concurrent interactions of one customer in one at a time.
    Customer.objects.filter(pk=customer.pk).update(
        figures_version=F("figures_version") + 1, figures_requested_at=timezone.now()
    )
    summary_record_interaction(
        interaction=interaction, lines=order_lines, cost_to_serve=channel_cost(channel)
    )
    # What the customer taught us in this interaction, in the same transaction.
    for fact in facts:
        customer_fact_record(
            customer=customer,
            key=fact.key,
            value=fact.value,
            need_status=fact.need_status,
            recorded_by=logged_by,
            source_interaction=interaction,
        )
    enqueue_on_commit(customer_recompute_figures, customer.pk)
    return interaction
