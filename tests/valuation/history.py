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


def generated_base(*, customers: int, seed: int) -> list[int]:
    """A varied customer base bulk-inserted as an import would, summaries rebuilt; returns the
    customer ids (dataio.synthetic's VALUATION_TESTS shape: purchase days from the BG/NBD
    story, order values from a per-customer spending level, so both models fit; complaints
    and inquiries answered fast, slowly or never, some rated; some customers rate an offering,
    know a need, state a wallet; one in ten never bought)."""
    from customers.models import FactKey, FactKind
    from dataio import synthetic

    from ..factories import OfferingFactory

    offerings = [OfferingFactory(price=Decimal(price)) for price in ("24.00", "9.50", "61.00")]
    need = FactKey.objects.create(
        key=f"need_{seed}", label="Coffee", kind=FactKind.NEED, category=offerings[0].category
    )
    return synthetic.base_generate(
        synthetic.VALUATION_TESTS.sized(customers),
        owners=[None],
        offerings=offerings,
        seed=seed,
        words=synthetic.Words(prefix=f"Generated {seed}-"),
        need_key_id=need.pk,
    ).customer_ids
