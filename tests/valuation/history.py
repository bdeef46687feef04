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
    customer ids. Purchase days follow the BG/NBD story, order values a per-customer spending
    level (so both models fit); complaints and inquiries are answered fast, slow or never, some
    rated for satisfaction; some customers rate an offering, know a need, state a wallet; one
    in ten never bought."""
    import numpy as np

    from customers.models import Customer, CustomerFact, FactKey, FactKind, NeedStatus
    from interactions.models import Interaction, OfferingRating, OrderLine
    from valuation.numerics.bgnbd import BgNbdParams
    from valuation.numerics.simulate import simulate_bgnbd
    from valuation.selectors import channel_costs_decimal
    from valuation.summary import customer_summaries_rebuild

    from ..factories import OfferingFactory

    rng = np.random.default_rng(seed)
    offerings = [OfferingFactory(price=Decimal(price)) for price in ("24.00", "9.50", "61.00")]
    need = FactKey.objects.create(
        key=f"need_{seed}", label="Coffee", kind=FactKind.NEED, category=offerings[0].category
    )
    now = timezone.now()
    people = Customer.objects.bulk_create(
        Customer(
            name=f"Generated {seed}-{n}",
            status="active",
            acquired_on=timezone.localdate() - timedelta(days=int(rng.integers(40, 700))),
            wallet_annual=Decimal(int(rng.integers(200, 5000))) if rng.random() < 0.6 else None,
            wallet_source="stated",
        )
        for n in range(customers)
    )
    tenure = np.array([(timezone.localdate() - c.acquired_on).days for c in people], dtype=float)
    frequency, recency, _ = simulate_bgnbd(
        BgNbdParams(r=0.6, alpha=8.0, a=0.8, b=3.0), tenure / 7, rng=rng, day_grid=1 / 7
    )
    interactions, levels = [], {}
    for customer, age, x, t_x in zip(people, tenure, frequency, recency, strict=True):
        levels[customer.pk] = float(rng.gamma(4.0, 0.25)) + 0.2
        if rng.random() >= 0.1:
            first, last = int(age), int(age) - round(float(t_x) * 7)
            days = {first, last, *rng.integers(last, first + 1, max(int(x) - 1, 0)).tolist()}
            interactions += [
                Interaction(
                    customer=customer,
                    channel="web",
                    direction="inbound",
                    type="order",
                    subject="Order",
                    occurred_at=now - timedelta(days=day, hours=2),
                )
                for day in sorted(days)
            ]
        for _ in range(int(rng.integers(0, 3))):
            occurred = now - timedelta(days=float(rng.uniform(1, age)))
            answered = rng.random()
            interactions.append(
                Interaction(
                    customer=customer,
                    channel=str(rng.choice(["phone", "email", "chat"])),
                    direction="inbound",
                    type=str(rng.choice(["inquiry", "complaint"])),
                    subject="Question",
                    occurred_at=occurred,
                    requires_response=True,
                    first_response_at=(
                        occurred + timedelta(hours=float(rng.uniform(0, 48)))
                        if answered < 0.9
                        else None
                    ),
                    satisfaction=int(rng.integers(1, 6)) if answered < 0.3 else None,
                )
            )
    saved = Interaction.objects.bulk_create(interactions)
    lines, held = [], set()
    for interaction in saved:
        if interaction.type != "order":
            continue
        for offering in rng.choice(offerings, size=int(rng.integers(1, 3)), replace=False):
            held.add((interaction.customer_id, offering.pk))
            lines.append(
                OrderLine(
                    interaction=interaction,
                    offering=offering,
                    quantity=Decimal(max(1, round(levels[interaction.customer_id] * 2))),
                    unit_price=offering.price,
                    unit_cost=(offering.price * Decimal("0.45")).quantize(Decimal("0.01")),
                    discount=Decimal("0.1") if rng.random() < 0.1 else Decimal("0"),
                )
            )
    OrderLine.objects.bulk_create(lines)
    OfferingRating.objects.bulk_create(
        OfferingRating(customer_id=customer, offering_id=offering, rating=int(rng.integers(1, 6)))
        for customer, offering in sorted(held)
        if rng.random() < 0.3
    )
    CustomerFact.objects.bulk_create(
        CustomerFact(
            customer=customer,
            key=need,
            value="weekly beans",
            need_status=str(rng.choice([NeedStatus.MET_BY_US, NeedStatus.UNMET])),
        )
        for customer in people
        if rng.random() < 0.3
    )
    customer_summaries_rebuild(
        customer_ids=[c.pk for c in people], channel_costs=channel_costs_decimal()
    )
    return [c.pk for c in people]
