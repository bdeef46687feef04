"""Helpers for the workspace tests: orders, snapshots and figures written directly (the
valuation worker is tested elsewhere; here the figures are the given)."""

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from customers.models import Customer
from dataio import synthetic
from interactions.choices import Channel, Direction, InteractionType
from interactions.models import Interaction, OrderLine
from replenishment.forecasts import purchase_forecasts_refresh
from valuation.models import CustomerFigures, CustomerSnapshot
from workspace.services import customer_agendas_refresh


def figures(customer, **values) -> None:
    CustomerFigures.objects.update_or_create(
        customer=customer, defaults={"owner_id": customer.owner_id, **values}
    )
    customer.refresh_from_db()


def snapshot(customer, day: date, **values) -> CustomerSnapshot:
    return CustomerSnapshot.objects.create(
        customer=customer, taken_on=day, computed_at=timezone.now(), **values
    )


def order(customer, *offerings, days_ago: int = 10) -> Interaction:
    interaction = Interaction.objects.create(
        customer=customer,
        channel=Channel.WEB,
        direction=Direction.INBOUND,
        type=InteractionType.ORDER,
        subject="Order",
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            interaction=interaction,
            offering=offering,
            quantity=Decimal("1"),
            unit_price=offering.price,
            unit_cost=Decimal("1"),
        )
        for offering in offerings
    )
    return interaction


def portfolio_of(owner, size: int, offering=None) -> list[Customer]:
    """A portfolio with every kind of row the pages show: figures, two snapshots, an order
    30 and 60 days ago (with an offering), a next step due today and an unanswered item
    (dataio.synthetic's TODO shape)."""
    today = timezone.localdate()
    shape = synthetic.TODO.sized(size)
    made = synthetic.base_generate(
        shape if offering is not None else dataclasses.replace(shape, buyers=0.0),
        owners=[owner.pk],
        offerings=[offering] if offering is not None else [],
        words=synthetic.Words(prefix=f"{owner.username} customer "),
    )
    customers = list(Customer.objects.filter(pk__in=made.customer_ids).order_by("pk"))
    for n, customer in enumerate(customers):
        figures(customer, tier="mvc", predicted_clv=Decimal(1000 + n), p_alive=0.5)
        snapshot(customer, today - timedelta(days=1), p_alive=0.9, predicted_clv=Decimal(900))
        snapshot(customer, today, p_alive=0.5, predicted_clv=Decimal(1000 + n))
    # As each customer's recompute would after their orders, and an import's end (workspace's
    # agendas: the stored next due action the portfolio sorts by).
    purchase_forecasts_refresh(customer_ids=[c.pk for c in customers])
    customer_agendas_refresh(customer_ids=[c.pk for c in customers])
    return customers
