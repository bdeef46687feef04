"""interaction_log: one transaction for the interaction and its lines, the recompute after it."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from interactions.models import Interaction, OrderLine
from interactions.services import OrderLineInput, interaction_log

from .factories import CustomerFactory, OfferingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_tasks(woken):
    return woken


def test_it_queues_the_recompute_only_after_the_commit(
    alice, sent_tasks, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(owner=alice)
    with django_capture_on_commit_callbacks(execute=True):
        interaction_log(
            customer=customer,
            logged_by=alice,
            channel="email",
            direction="inbound",
            type="inquiry",
            subject="Opening hours?",
        )
        # Inside the transaction nothing has been sent yet.
        assert sent_tasks == []

    # Sent once, after the commit (relayed from the outbox: events.services).
    assert sent_tasks == [customer.pk]


def test_it_saves_an_order_with_its_lines_and_derives_revenue_and_margin(alice, sent_tasks):
    customer = CustomerFactory(owner=alice)
    beans = OfferingFactory(name="House blend")
    order = interaction_log(
        customer=customer,
        logged_by=alice,
        channel="web",
        direction="inbound",
        type="order",
        subject="Online order",
        lines=[
            OrderLineInput(
                offering_id=beans.pk,
                quantity=Decimal("2"),
                unit_price=Decimal("24.00"),
                unit_cost=Decimal("11.50"),
                discount=Decimal("0.10"),
            )
        ],
    )
    line = OrderLine.objects.get(interaction=order)
    assert line.revenue == Decimal("43.2000")  # 2 × 24 × 0.9
    assert line.margin == Decimal("20.2000")  # 43.20 − 2 × 11.50


def test_it_writes_nothing_when_a_line_is_invalid(alice, sent_tasks):
    customer = CustomerFactory(owner=alice)
    beans = OfferingFactory()
    with pytest.raises(ValidationError) as error:
        interaction_log(
            customer=customer,
            logged_by=alice,
            channel="web",
            direction="inbound",
            type="order",
            subject="Bad order",
            lines=[
                OrderLineInput(
                    offering_id=beans.pk,
                    quantity=Decimal("1"),
                    unit_price=Decimal("24"),
                    unit_cost=Decimal("11"),
                    discount=Decimal("1.5"),
                )
            ],
        )
    assert "lines[0].discount" in error.value.message_dict
    assert not Interaction.objects.filter(customer=customer).exists()
    customer.refresh_from_db()
    assert customer.figures.figures_version == 0


def test_it_names_the_bad_field():
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as error:
        interaction_log(
            customer=customer,
            logged_by=None,
            channel="pigeon",
            direction="inbound",
            type="inquiry",
            subject="Coo",
        )
    assert list(error.value.message_dict) == ["channel"]


def test_it_expects_an_answer_to_inbound_inquiries_and_complaints(sent_tasks):
    customer = CustomerFactory()
    common = {"customer": customer, "logged_by": None, "channel": "phone", "subject": "x"}
    complaint = interaction_log(direction="inbound", type="complaint", **common)
    outreach = interaction_log(direction="outbound", type="outreach", **common)
    assert complaint.requires_response is True
    assert outreach.requires_response is False


def test_it_refuses_to_order_an_archived_offering(alice, sent_tasks):
    from offerings.services import offering_archive

    customer = CustomerFactory(owner=alice)
    old = OfferingFactory(name="Discontinued blend")
    offering_archive(offering=old)
    with pytest.raises(ValidationError) as error:
        interaction_log(
            customer=customer,
            logged_by=alice,
            channel="web",
            direction="inbound",
            type="order",
            subject="Old favourite",
            lines=[
                OrderLineInput(
                    offering_id=old.pk,
                    quantity=Decimal("1"),
                    unit_price=Decimal("24"),
                    unit_cost=Decimal("11"),
                )
            ],
        )
    assert error.value.message_dict == {
        "lines[0].offering": ["An archived offering cannot be ordered."]
    }
    assert not Interaction.objects.filter(customer=customer).exists()


def test_it_refuses_an_offering_that_does_not_exist(alice, sent_tasks):
    customer = CustomerFactory(owner=alice)
    with pytest.raises(ValidationError) as error:
        interaction_log(
            customer=customer,
            logged_by=alice,
            channel="web",
            direction="inbound",
            type="order",
            subject="Ghost order",
            lines=[
                OrderLineInput(
                    offering_id=987654,
                    quantity=Decimal("1"),
                    unit_price=Decimal("24"),
                    unit_cost=Decimal("11"),
                )
            ],
        )
    assert error.value.message_dict == {"lines[0].offering": ["No such offering."]}
    assert not Interaction.objects.filter(customer=customer).exists()
