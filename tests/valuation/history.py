"""Purchase histories for valuation tests, logged through the real service."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from interactions.services import OrderLineInput, interaction_log


def log_order(
    customer, offering, *, days_ago: float, quantity="1", price="24.00", cost="11.50", discount="0"
):
    return interaction_log(
        customer=customer,
        logged_by=None,
        channel="web",
        direction="inbound",
        type="order",
        subject="Order",
        occurred_at=timezone.now() - timedelta(days=days_ago),
        lines=[
            OrderLineInput(
                offering_id=offering.pk,
                quantity=Decimal(quantity),
                unit_price=Decimal(price),
                unit_cost=Decimal(cost),
                discount=Decimal(discount),
            )
        ],
    )


def log_contact(customer, *, days_ago: float, type="inquiry", channel="phone", **extra):
    return interaction_log(
        customer=customer,
        logged_by=None,
        channel=channel,
        direction="inbound",
        type=type,
        subject=type.title(),
        occurred_at=timezone.now() - timedelta(days=days_ago),
        **extra,
    )
