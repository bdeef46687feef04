"""Issue 14, item 9: every write path (Django admin, HTML forms, API) goes through the services,
so the summary fold, the figures version, the recompute after commit and the audit always
happen, and the business rules hold whichever way a write comes in."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from customers.models import Customer
from customers.services import customer_create, customer_update
from interactions.models import Interaction, OrderLine
from interactions.services import OrderLineInput, interaction_log
from valuation.models import CustomerSummary
from valuation.services import customer_figures_recompute

from ..factories import CustomerFactory, InteractionFactory, OfferingFactory
from ..faults import assert_same_figures, figures_from_scratch, figures_of

ADD_INTERACTION = "/admin/interactions/interaction/add/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def admin_interaction(customer, *, type="order", lines=(), **extra) -> dict:
    """The admin's add form for an interaction, with order lines in the inline."""
    data = {
        "customer": customer.pk,
        "channel": "phone",
        "direction": "inbound",
        "type": type,
        "subject": "Ordered by phone",
        "notes": "",
        "occurred_at_0": "2025-05-01",
        "occurred_at_1": "10:00:00",
        "thread": "",
        "satisfaction": "",
        "next_step": "",
        "next_step_due": "",
        "offer": "",
        "offer_outcome": "",
        "assignee": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        **extra,
    }
    for index, line in enumerate(lines):
        for field, value in line.items():
            data[f"lines-{index}-{field}"] = value
    return data


def line(offering, quantity="2", unit_price="12.50", unit_cost="5.00", discount="0") -> dict:
    return {
        "offering": offering.pk,
        "quantity": quantity,
        "unit_price": unit_price,
        "unit_cost": unit_cost,
        "discount": discount,
    }


def test_it_records_an_order_entered_in_the_admin_like_any_other_order(
    ada, alices_customer, woken, django_capture_on_commit_callbacks
):
    # Given an admin and a customer with no history
    beans = OfferingFactory(name="House blend")
    version = alices_customer.figures.figures_version

    # When the admin enters a phone order with one line in the Django admin
    woken.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(ada).post(
            ADD_INTERACTION, admin_interaction(alices_customer, lines=[line(beans)])
        )

    # Then it is saved with its line, logged by the admin, and a recompute is queued
    assert response.status_code == 302, response.content.decode()[:3000]
    order = Interaction.objects.get(customer=alices_customer)
    assert order.logged_by == ada
    assert list(OrderLine.objects.filter(interaction=order).values_list("quantity", flat=True)) == [
        Decimal("2.00")
    ]
    alices_customer.refresh_from_db()
    assert alices_customer.figures.figures_version == version + 1
    assert woken == [alices_customer.pk]
    # And the running summary folded it in: the worker's recompute equals a from-scratch one
    summary = CustomerSummary.objects.get(customer=alices_customer)
    assert (summary.interactions, summary.transaction_days, summary.revenue_total) == (
        1,
        1,
        Decimal("25.0000"),
    )
    customer_figures_recompute(customer_id=alices_customer.pk)
    computed = figures_of(alices_customer.pk)
    assert computed["interaction_count"] == 1
    assert_same_figures(computed, figures_from_scratch(alices_customer.pk))


def test_it_keeps_logged_interactions_and_their_lines_read_only_in_the_admin(ada, alices_customer):
    # Given an order already logged (its lines are folded into the customer's summary)
    beans = OfferingFactory()
    order = interaction_log(
        customer=alices_customer,
        logged_by=ada,
        channel="web",
        direction="inbound",
        type="order",
        subject="Web order",
        lines=[OrderLineInput(beans.pk, Decimal("1"), Decimal("10"), Decimal("4"))],
    )
    client = signed_in(ada)
    change = f"/admin/interactions/interaction/{order.pk}/change/"

    # When the admin opens it, tries to change it, or to delete it
    page = client.get(change)
    posted = client.post(change, admin_interaction(alices_customer, subject="Changed"))
    deleted = client.post(f"/admin/interactions/interaction/{order.pk}/delete/", {"post": "yes"})

    # Then it is shown read-only and stays as logged
    assert page.status_code == 200
    assert 'name="subject"' not in page.content.decode()
    assert posted.status_code == 403
    assert deleted.status_code == 403
    order.refresh_from_db()
    assert order.subject == "Web order"
    assert order.lines.count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/admin/customers/customerfact/add/",
        "/admin/customers/channelconsent/add/",
        "/admin/interactions/offeringrating/add/",
        "/admin/valuation/customersnapshot/add/",
    ],
)
def test_it_offers_no_admin_add_page_that_would_bypass_a_service(ada, path):
    assert signed_in(ada).get(path).status_code == 403


def test_it_saves_a_customer_edited_in_the_admin_through_the_service(ada, alices_customer):
    # Given a customer whose figures are current
    version = alices_customer.figures.figures_version
    client = signed_in(ada)
    change = f"/admin/customers/customer/{alices_customer.pk}/change/"
    form = {
        "kind": "person",
        "name": "Anna Keller",
        "email": "anna@example.net",
        "phone": "",
        "external_ref": "",
        "owner": alices_customer.owner_id,
        "status": "active",
        "acquired_on": "",
        "acquisition_source": "",
        "referred_by": "",
        "preferred_channel": "",
        "wallet_source": "",
        # The other addresses' inline, left as it is.
        "other_emails-TOTAL_FORMS": "0",
        "other_emails-INITIAL_FORMS": "0",
    }

    # When the admin sets a wallet without saying where it comes from, then with a source
    refused = client.post(change, {**form, "wallet_annual": "1200"})
    saved = client.post(change, {**form, "wallet_annual": "1200", "wallet_source": "stated"})

    # Then the first is refused on the field, the second saved and the figures asked for
    assert refused.status_code == 200
    assert "Say where the wallet figure comes from." in refused.content.decode()
    assert saved.status_code == 302
    alices_customer.refresh_from_db()
    assert alices_customer.wallet_annual == Decimal("1200.00")
    assert alices_customer.figures.figures_version == version + 1


def test_it_refuses_lines_on_an_interaction_that_is_not_an_order_in_every_path(
    ada, alice, alices_customer
):
    beans = OfferingFactory()
    # The service itself
    with pytest.raises(ValidationError) as refused:
        interaction_log(
            customer=alices_customer,
            logged_by=alice,
            channel="phone",
            direction="inbound",
            type="inquiry",
            subject="Question",
            lines=[OrderLineInput(beans.pk, Decimal("1"), Decimal("10"), Decimal("4"))],
        )
    assert refused.value.message_dict == {"lines": ["Only order interactions have lines."]}
    # The API
    response = api(alice).post(
        "/api/interactions/",
        {
            "customer": alices_customer.pk,
            "channel": "phone",
            "direction": "inbound",
            "type": "inquiry",
            "subject": "Question",
            "lines": [
                {"offering": beans.pk, "quantity": "1", "unit_price": "10", "unit_cost": "4"}
            ],
        },
        format="json",
    )
    assert (response.status_code, response.json()) == (
        400,
        {"lines": ["Only order interactions have lines."]},
    )
    # The admin
    page = signed_in(ada).post(
        ADD_INTERACTION, admin_interaction(alices_customer, type="inquiry", lines=[line(beans)])
    )
    assert page.status_code == 200
    assert "Only order interactions have lines." in page.content.decode()
    assert not Interaction.objects.exists()


def test_it_refuses_a_thread_of_another_customer_in_every_path(ada, alice, alices_customer):
    other = CustomerFactory(owner=alice)
    elsewhere = InteractionFactory(customer=other, requires_response=True)
    # The service itself
    with pytest.raises(ValidationError) as refused:
        interaction_log(
            customer=alices_customer,
            logged_by=alice,
            channel="phone",
            direction="inbound",
            type="inquiry",
            subject="Follow-up",
            thread=elsewhere,
        )
    assert refused.value.message_dict == {"thread": ["No such thread for this customer."]}
    # The admin
    page = signed_in(ada).post(
        ADD_INTERACTION, admin_interaction(alices_customer, type="inquiry", thread=elsewhere.pk)
    )
    assert page.status_code == 200
    assert "No such thread for this customer." in page.content.decode()
    # The HTML form
    form = signed_in(alice).post(
        f"/interactions/log/{alices_customer.pk}/",
        {
            "channel": "phone",
            "direction": "inbound",
            "type": "inquiry",
            "subject": "Follow-up",
            "thread": elsewhere.pk,
        },
    )
    assert form.status_code == 400  # a refused log form answers 400
    assert Interaction.objects.filter(customer=alices_customer).count() == 0


def test_it_refuses_a_wallet_without_its_source_in_every_path(alice, alices_customer):
    # The service
    with pytest.raises(ValidationError) as refused:
        customer_create(name="Nadia Berg", owner=alice, wallet_annual=Decimal("900"))
    assert refused.value.message_dict == {
        "wallet_source": ["Say where the wallet figure comes from."]
    }
    with pytest.raises(ValidationError):
        customer_update(customer=alices_customer, data={"wallet_annual": Decimal("900")})
    # The API, creating and editing
    created = api(alice).post(
        "/api/customers/", {"name": "Nadia Berg", "wallet_annual": "900"}, format="json"
    )
    edited = api(alice).patch(
        f"/api/customers/{alices_customer.pk}/", {"wallet_annual": "900"}, format="json"
    )
    for response in (created, edited):
        assert (response.status_code, response.json()) == (
            400,
            {"wallet_source": ["Say where the wallet figure comes from."]},
        )
    # The HTML form
    form = signed_in(alice).post(
        "/customers/new/",
        {"kind": "person", "name": "Nadia Berg", "status": "prospect", "wallet_annual": "900"},
    )
    assert form.status_code == 200
    assert "Say where the wallet figure comes from." in form.content.decode()
    assert not Customer.objects.filter(name="Nadia Berg").exists()
    alices_customer.refresh_from_db()
    assert alices_customer.wallet_annual is None


def test_it_keeps_the_next_due_action_current_for_a_subscription_entered_in_the_admin(
    ada, alices_customer
):
    # Given an offering that is replenished
    beans = OfferingFactory(replenish_every_days=30)
    client = signed_in(ada)

    # When the admin subscribes the customer in the Django admin, then pauses it
    added = client.post(
        "/admin/replenishment/replenishmentsubscription/add/",
        {
            "customer": alices_customer.pk,
            "offering": beans.pk,
            "interval_days": "30",
            "quantity": "1",
            "next_due": "2031-03-01",
            "mode": "reminder",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
            "deliveries-MIN_NUM_FORMS": "0",
            "deliveries-MAX_NUM_FORMS": "0",
        },
    )
    alices_customer.refresh_from_db()
    due_after_subscribing = alices_customer.agenda.next_due_on
    subscription = alices_customer.replenishments.get()
    paused = client.post(
        f"/admin/replenishment/replenishmentsubscription/{subscription.pk}/change/",
        {
            "status": "paused",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
            "deliveries-MIN_NUM_FORMS": "0",
            "deliveries-MAX_NUM_FORMS": "0",
        },
    )

    # Then the customer's stored next due action follows both
    assert (added.status_code, paused.status_code) == (302, 302)
    assert str(due_after_subscribing) == "2031-03-01"
    alices_customer.refresh_from_db()
    subscription.refresh_from_db()
    assert subscription.status == "paused"
    assert alices_customer.agenda.next_due_on is None
