"""Orders in Decimal and the log form's validation (SPEC §3, §5 Transaction)."""

from decimal import Decimal

import pytest

from interactions.models import Interaction, OrderLine
from interactions.services import OrderLineInput, interaction_log

from .factories import OfferingFactory

pytestmark = pytest.mark.django_db


def test_it_keeps_revenue_and_margin_exact_in_decimal(alice, alices_customer):
    beans, service = OfferingFactory(), OfferingFactory()
    order = interaction_log(
        customer=alices_customer,
        logged_by=alice,
        channel="web",
        direction="inbound",
        type="order",
        subject="Order",
        lines=[
            OrderLineInput(
                offering_id=beans.pk,
                quantity=Decimal("3"),
                unit_price=Decimal("19.99"),
                unit_cost=Decimal("7.10"),
                discount=Decimal("0.15"),
            ),
            OrderLineInput(
                offering_id=service.pk,
                quantity=Decimal("0.5"),
                unit_price=Decimal("80.00"),
                unit_cost=Decimal("33.33"),
            ),
        ],
    )
    lines = list(OrderLine.objects.filter(interaction=order))
    revenue = sum((line.revenue for line in lines), Decimal("0"))
    margin = sum((line.margin for line in lines), Decimal("0"))
    # 3 × 19.99 × 0.85 = 50.9745 (a float gives 50.974500000000006); 0.5 × 80 = 40
    assert revenue == Decimal("90.9745")
    # 90.9745 − 3 × 7.10 − 0.5 × 33.33 = 90.9745 − 21.30 − 16.665 = 53.0095
    assert margin == Decimal("53.0095")
    assert all(isinstance(line.revenue, Decimal) for line in lines)


def test_the_log_form_names_bad_fields_and_keeps_what_was_typed(client, charlie, alices_customer):
    client.force_login(charlie)
    response = client.post(
        f"/interactions/log/{alices_customer.pk}/",
        {
            "channel": "email",
            "direction": "inbound",
            "type": "offer",
            "subject": "Offered a bundle",
            "offer_outcome": "accepted",
            "satisfaction": "9",
        },
    )
    assert response.status_code == 400  # the refused form is shown again
    form = response.context["form"]
    assert set(form.errors) == {"offer_outcome", "satisfaction"}
    assert 'value="Offered a bundle"' in response.content.decode()
    assert not Interaction.objects.exists()


def test_the_log_form_records_an_offer_and_its_outcome(client, charlie, alices_customer):
    bundle = OfferingFactory(name="Office bundle")
    client.force_login(charlie)
    response = client.post(
        f"/interactions/log/{alices_customer.pk}/",
        {
            "channel": "phone",
            "direction": "outbound",
            "type": "offer",
            "subject": "Offered the office bundle",
            "offer": bundle.pk,
            "offer_outcome": "declined",
        },
    )
    assert response.status_code == 302
    saved = Interaction.objects.get()
    assert (saved.offer, saved.offer_outcome) == (bundle, "declined")
