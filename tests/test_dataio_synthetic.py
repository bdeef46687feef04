"""The one synthetic customer base (dataio/synthetic.py) that the demo, the benchmarks and the
tests generate: seeded, in bulk, shaped as asked."""

from decimal import Decimal

import pytest
from django.db.models import Count

from customers.models import Customer, CustomerFact, FactKey, FactKind
from dataio import synthetic
from interactions.models import Interaction, OfferingRating, OrderLine
from replenishment.models import ReplenishmentSubscription
from valuation.models import CustomerSnapshot, CustomerSummary

from .factories import OfferingFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offerings():
    return [OfferingFactory(price=Decimal(p)) for p in ("24.00", "9.50", "61.00")]


def test_the_same_seed_gives_the_same_base(offerings):
    first = synthetic.base_generate(synthetic.NIGHTLY.sized(50), owners=[None], offerings=offerings)
    rows = list(Interaction.objects.order_by("id").values_list("type", "channel", "subject"))
    Customer.objects.all().delete()
    again = synthetic.base_generate(synthetic.NIGHTLY.sized(50), owners=[None], offerings=offerings)
    assert first.counts == again.counts
    assert list(Interaction.objects.order_by("id").values_list("type", "channel", "subject")) == (
        rows
    )


def test_the_nightly_shape_has_every_kind_of_row(offerings, roles):
    owners = [UserFactory().pk for _ in range(4)]
    need = FactKey.objects.create(key="coffee_need", label="Coffee", kind=FactKind.NEED)
    made = synthetic.base_generate(
        synthetic.NIGHTLY.sized(300), owners=owners, offerings=offerings, need_key_id=need.pk
    )
    assert made.customers == Customer.objects.count() == 300
    per_owner = Customer.objects.values("owner").annotate(n=Count("id"))
    assert {row["owner"] for row in per_owner} == set(owners)
    kinds = set(Interaction.objects.values_list("type", flat=True))
    assert kinds == {"order", "inquiry", "complaint", "outreach"}
    orders = Interaction.objects.filter(type="order").count()
    assert made.counts["orders"] == orders
    assert OrderLine.objects.count() >= orders
    buyers = Interaction.objects.filter(type="order").values("customer").distinct().count()
    assert 240 <= buyers < 300  # one in ten never bought
    assert OfferingRating.objects.exists() and CustomerFact.objects.exists()
    assert Customer.objects.filter(wallet_annual__isnull=False).count() > 120
    # The running summaries are built for everyone with a history.
    with_history = Customer.objects.filter(interactions__isnull=False).distinct().count()
    assert CustomerSummary.objects.count() == with_history


def test_the_portfolio_shape_with_given_figures_and_snapshots(offerings, roles):
    made = synthetic.base_generate(
        synthetic.PORTFOLIO.sized(40), owners=[UserFactory().pk], offerings=offerings
    )
    synthetic.figures_fake(made.customer_ids, snapshot_days=3)
    assert Interaction.objects.filter(type="order").count() == 40
    assert Interaction.objects.filter(next_step_due__isnull=False).count() == 40
    assert ReplenishmentSubscription.objects.count() == 2
    assert CustomerSnapshot.objects.count() == 120
    assert Customer.objects.filter(figures__isnull=True).count() == 0
    assert not Customer.objects.filter(figures__tier="").exists()
