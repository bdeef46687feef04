"""Helpers for the workspace tests: orders, snapshots and figures written directly (the
valuation worker is tested elsewhere; here the figures are the given)."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from customers.models import Customer
from interactions.choices import Channel, Direction, InteractionType
from interactions.models import Interaction, OrderLine
from replenishment.forecasts import purchase_forecasts_refresh
from valuation.models import CustomerFigures, CustomerSnapshot

from .factories import CustomerFactory


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
    """A portfolio with every kind of row the pages show: figures, two snapshots, an order,
    a due next step and an unanswered item."""
    today = timezone.localdate()
    customers = []
    for n in range(size):
        customer = CustomerFactory(owner=owner, name=f"{owner.username} customer {n:03d}")
        figures(customer, tier="mvc", predicted_clv=Decimal(1000 + n), p_alive=0.5)
        snapshot(customer, today - timedelta(days=1), p_alive=0.9, predicted_clv=Decimal(900))
        snapshot(customer, today, p_alive=0.5, predicted_clv=Decimal(1000 + n))
        if offering is not None:
            order(customer, offering, days_ago=60)
            order(customer, offering, days_ago=30)
        Interaction.objects.create(
            customer=customer,
            channel=Channel.PHONE,
            direction=Direction.OUTBOUND,
            type=InteractionType.OUTREACH,
            subject="Call",
            next_step="Call back",
            next_step_due=today,
        )
        Interaction.objects.create(
            customer=customer,
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            type=InteractionType.INQUIRY,
            subject="A question",
            requires_response=True,
        )
        customers.append(customer)
    # As each customer's recompute would after their orders.
    purchase_forecasts_refresh(customer_ids=[c.pk for c in customers])
    return customers
