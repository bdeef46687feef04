"""Issue 14, items 1 and 6 (numbers): every date has a plausible window, every number a bound,
no computation on stored data overflows, and a 5xx never follows a commit (docs/bounds.md)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core import bounds
from customers.facts import FactInput, customer_fact_record
from customers.models import Customer, CustomerFact
from customers.services import customer_create
from interactions import selectors as interaction_selectors
from interactions.models import Interaction, OrderLine, ServiceLevelTarget
from interactions.services import OrderLineInput, interaction_log, interactions_due_recompute
from replenishment.forecasts import purchase_forecasts_refresh
from replenishment.models import PurchaseForecast, ReplenishmentSubscription
from replenishment.selectors import predicted_next_purchases
from replenishment.services import replenishments_deliver_due
from valuation.services import customer_figures_recompute, customer_figures_request

from ..factories import InteractionFactory, OfferingFactory

pytestmark = pytest.mark.django_db

EXTREME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.fixture
def api():
    def as_user(user, **kwargs):
        client = APIClient(**kwargs)
        client.force_authenticate(user)
        return client

    return as_user


def signed_in(client, user):
    client.force_login(user)
    return client


def inquiry(customer, **extra):
    return {
        "customer": customer.pk,
        "channel": "email",
        "direction": "inbound",
        "type": "inquiry",
        "subject": "When will it ship?",
        **extra,
    }


def order(customer, offering, *, quantity="1", unit_price="10.00", **extra):
    line = {
        "offering": offering.pk,
        "quantity": quantity,
        "unit_price": unit_price,
        "unit_cost": "1.00",
    }
    return {**inquiry(customer), "type": "order", "subject": "Order", "lines": [line], **extra}


# --- Item 1: dates that happened -----------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at", ["9999-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "1899-12-31T23:59:59Z"]
)
def test_it_refuses_an_implausible_occurred_at_through_the_api_and_stores_nothing(
    api, alice, alices_customer, occurred_at
):
    response = api(alice).post(
        "/api/interactions/", inquiry(alices_customer, occurred_at=occurred_at), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["occurred_at"]
    assert not Interaction.objects.filter(customer=alices_customer).exists()


def test_it_accepts_a_time_within_the_clock_skew_allowance(api, alice, alices_customer):
    soon = (timezone.now() + timedelta(minutes=2)).isoformat()
    response = api(alice).post(
        "/api/interactions/", inquiry(alices_customer, occurred_at=soon), format="json"
    )
    assert response.status_code == 201, response.json()


def test_it_refuses_a_year_one_order_through_the_api(api, alice, alices_customer):
    offering = OfferingFactory()
    response = api(alice).post(
        "/api/interactions/",
        order(alices_customer, offering, occurred_at="0001-01-01T00:00:00Z"),
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["occurred_at"]
    assert not OrderLine.objects.exists()


def test_it_refuses_an_implausible_occurred_at_in_the_service(alice, alices_customer):
    with pytest.raises(ValidationError) as raised:
        interaction_log(
            customer=alices_customer,
            logged_by=alice,
            channel="email",
            direction="inbound",
            type="inquiry",
            subject="From the future",
            occurred_at=EXTREME,
        )
    assert list(raised.value.message_dict) == ["occurred_at"]
    assert not Interaction.objects.exists()


def test_it_shows_the_log_forms_error_on_the_occurred_at_field(client, alice, alices_customer):
    response = signed_in(client, alice).post(
        reverse("interactions:log", args=[alices_customer.pk]),
        {
            "channel": "email",
            "direction": "inbound",
            "type": "inquiry",
            "subject": "From the future",
            "occurred_at": "9999-12-31T23:59",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["occurred_at"] == ["Must not be in the future."]
    assert not Interaction.objects.exists()


def test_it_refuses_a_future_acquisition_date_in_api_form_and_service(
    api, client, alice, alices_customer
):
    response = api(alice).patch(
        f"/api/customers/{alices_customer.pk}/", {"acquired_on": "2100-01-01"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["acquired_on"]
    page = signed_in(client, alice).post(
        reverse("customers:create"),
        {
            "kind": "person",
            "name": "Time Traveller",
            "status": "active",
            "acquired_on": "1066-10-14",
        },
    )
    assert page.context["form"].errors["acquired_on"] == ["Must not be before 1900-01-01."]
    with pytest.raises(ValidationError) as raised:
        customer_create(name="Later", acquired_on=date(2100, 1, 1))
    assert list(raised.value.message_dict) == ["acquired_on"]
    assert Customer.objects.count() == 1
    alices_customer.refresh_from_db()
    assert alices_customer.acquired_on is None


# --- Item 1: dates that are planned ----------------------------------------------------------


def test_it_refuses_a_next_step_due_beyond_the_planning_horizon(api, alice, alices_customer):
    response = api(alice).post(
        "/api/interactions/",
        inquiry(alices_customer, next_step="Call back", next_step_due="2100-01-01"),
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["next_step_due"]
    in_a_year = (timezone.localdate() + timedelta(days=365)).isoformat()
    response = api(alice).post(
        "/api/interactions/",
        inquiry(alices_customer, next_step="Call back", next_step_due=in_a_year),
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_it_bounds_replenishment_dates_and_intervals(alices_customer):
    subscription = ReplenishmentSubscription(
        customer=alices_customer,
        offering=OfferingFactory(),
        interval_days=10**9,
        next_due=date(9999, 1, 1),
    )
    with pytest.raises(ValidationError) as raised:
        subscription.full_clean()
    assert set(raised.value.message_dict) == {"interval_days", "next_due"}


# --- Item 1: stored extreme rows never break a read -------------------------------------------


@pytest.fixture
def extreme_item(alices_customer):
    """An open inquiry stored before the windows existed, at the last second of year 9999."""
    item = InteractionFactory(customer=alices_customer, requires_response=True)
    Interaction.objects.filter(pk=item.pk).update(occurred_at=EXTREME)
    # Its stored due time, as the backfill (interactions 0007) or a recompute writes it.
    interactions_due_recompute(interaction_ids=[item.pk])
    return item


def test_it_lists_a_stored_extreme_item_everywhere_without_a_5xx(
    api, client, alice, charlie, alices_customer, extreme_item
):
    assert api(charlie).get("/api/interactions/").status_code == 200
    assert api(alice).get(f"/api/interactions/{extreme_item.pk}/").status_code == 200
    timeline = api(alice).get(f"/api/customers/{alices_customer.pk}/timeline/")
    assert timeline.status_code == 200
    assert timeline.json()["results"][0]["response_due_at"] == "9999-12-30T00:00:00Z"
    assert signed_in(client, charlie).get(reverse("interactions:queue")).status_code == 200
    client.logout()
    signed_in(client, alice)
    assert client.get(reverse("customers:detail", args=[alices_customer.pk])).status_code == 200
    assert client.get(reverse("interactions:search")).status_code == 200
    assert client.get(reverse("workspace:todo")).status_code == 200


def test_it_recomputes_figures_with_a_stored_extreme_item(alices_customer, extreme_item):
    customer_figures_request(customer_id=alices_customer.pk)
    assert customer_figures_recompute(customer_id=alices_customer.pk) is True
    stats = interaction_selectors.service_level_stats(customer_id=alices_customer.pk)
    assert stats.unanswered_pending == 1


def test_it_forecasts_purchases_from_stored_extreme_orders(client, alice, alices_customer):
    offering = OfferingFactory()
    for when in (datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC), EXTREME):
        item = InteractionFactory(customer=alices_customer, type="order", direction="inbound")
        OrderLine.objects.create(
            interaction=item,
            offering=offering,
            quantity=1,
            unit_price=Decimal("10"),
            unit_cost=Decimal("1"),
        )
        Interaction.objects.filter(pk=item.pk).update(occurred_at=when)
    purchase_forecasts_refresh(customer_ids=[alices_customer.pk])
    forecast = PurchaseForecast.objects.get(customer=alices_customer)
    assert forecast.predicted_on == date.max
    assert predicted_next_purchases(alices_customer.pk)[0].predicted_on == date.max
    assert signed_in(client, alice).get(reverse("workspace:todo")).status_code == 200


def test_it_delivers_a_stored_subscription_with_an_extreme_interval(alices_customer):
    subscription = ReplenishmentSubscription.objects.create(
        customer=alices_customer,
        offering=OfferingFactory(),
        interval_days=2_000_000_000,
        next_due=timezone.localdate(),
    )
    assert replenishments_deliver_due() == 1
    subscription.refresh_from_db()
    assert subscription.next_due == date.max


def test_it_bounds_service_level_targets(extreme_item):
    target = ServiceLevelTarget(type="inquiry", channel="phone", first_response_hours=10**9)
    with pytest.raises(ValidationError) as raised:
        target.full_clean()
    assert list(raised.value.message_dict) == ["first_response_hours"]
    # A target stored before the bound counts as the bound; the due time stays in the calendar.
    ServiceLevelTarget.objects.filter(type="inquiry", channel="").update(
        first_response_hours=2_000_000_000
    )
    item = InteractionFactory(customer=extreme_item.customer, requires_response=True)
    items = interaction_selectors.with_service_level(
        Interaction.objects.filter(customer=extreme_item.customer)
    )
    due = dict(items.values_list("pk", "response_due_at"))
    longest = timedelta(hours=bounds.SERVICE_TARGET_HOURS_MAX)
    assert due == {item.pk: item.occurred_at + longest, extreme_item.pk: bounds.DATETIME_CEILING}
    stats = interaction_selectors.service_level_stats_by_customer(
        customer_ids=[extreme_item.customer_id]
    )
    assert stats[0]["unanswered_pending"] == 2


# --- Item 1: a 5xx never follows a commit ------------------------------------------------------


def test_it_keeps_nothing_when_the_reply_fails_after_the_write(
    api, alice, alices_customer, monkeypatch
):
    from interactions.api import InteractionOutputSerializer

    def broken(*args, **kwargs):
        raise RuntimeError("the reply failed")

    # The reply is built after the write (the stored due time among its fields).
    monkeypatch.setattr(InteractionOutputSerializer, "get_response_due_at", broken)
    response = api(alice, raise_request_exception=False).post(
        "/api/interactions/", inquiry(alices_customer), format="json"
    )
    assert response.status_code == 500
    assert not Interaction.objects.exists()
    alices_customer.refresh_from_db()
    assert alices_customer.figures.figures_version == 0


# --- Item 1: report ranges and date filters ---------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"end": "0001-01-01"}, "end"),
        ({"start": "0001-01-01"}, "start"),
        ({"start": "9999-12-31", "end": "9999-12-31"}, "start"),
        ({"end": "9999-12-31"}, "end"),
    ],
)
def test_it_refuses_a_scorecards_range_out_of_bounds(client, ada, query, field):
    response = signed_in(client, ada).get(reverse("workspace:scorecards"), query)
    assert response.status_code == 400
    assert field in response.context["errors"]


def test_it_refuses_date_filters_out_of_bounds(api, client, alice):
    response = api(alice).get("/api/interactions/", {"occurred_after": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400
    assert list(response.json()) == ["occurred_after"]
    response = api(alice).get("/api/interactions/", {"occurred_before": "9999-12-31T00:00:00Z"})
    assert response.status_code == 400
    assert list(response.json()) == ["occurred_before"]
    page = signed_in(client, alice).get(reverse("interactions:search"), {"date_from": "0001-01-01"})
    assert "date_from" in page.context["form"].errors


# --- Item 6: numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("wallet_annual", "1e20"),
        ("wallet_annual", "-5"),
        ("household_or_team_size", "1e400"),
        ("household_or_team_size", "-3"),
        ("household_or_team_size", "2.5"),
        ("household_or_team_size", "0"),
    ],
)
def test_it_refuses_number_facts_out_of_bounds_through_the_api(
    api, alice, alices_customer, key, value
):
    response = api(alice).post(
        f"/api/customers/{alices_customer.pk}/facts/", {"key": key, "value": value}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["value"]
    assert not CustomerFact.objects.exists()
    alices_customer.refresh_from_db()
    assert alices_customer.wallet_annual is None


def test_it_accepts_number_facts_within_bounds(alice, alices_customer):
    customer_fact_record(
        customer=alices_customer, key="household_or_team_size", value="12", recorded_by=alice
    )
    fact = customer_fact_record(
        customer=alices_customer, key="wallet_annual", value="999999999999.99", recorded_by=alice
    )
    assert fact.value == "999999999999.99"
    alices_customer.refresh_from_db()
    assert alices_customer.wallet_annual == Decimal("999999999999.99")


def test_it_refuses_an_overflowing_wallet_fact_logged_with_an_interaction(alice, alices_customer):
    with pytest.raises(ValidationError) as raised:
        interaction_log(
            customer=alices_customer,
            logged_by=alice,
            channel="phone",
            direction="inbound",
            type="inquiry",
            subject="Told us their spend",
            facts=[FactInput("wallet_annual", "1e20")],
        )
    assert list(raised.value.message_dict) == ["facts[0].value"]
    assert not Interaction.objects.exists()


def test_it_refuses_a_teach_question_out_of_bounds_on_the_log_form(client, alice, alices_customer):
    # Known wallet and delivery window: "People served" is among the next questions.
    customer_fact_record(
        customer=alices_customer, key="wallet_annual", value="500", recorded_by=alice
    )
    customer_fact_record(
        customer=alices_customer, key="delivery_window", value="morning", recorded_by=alice
    )
    response = signed_in(client, alice).post(
        reverse("interactions:log", args=[alices_customer.pk]),
        {
            "channel": "email",
            "direction": "inbound",
            "type": "inquiry",
            "subject": "How many of you?",
            "teach-fact__household_or_team_size": "-4",
        },
    )
    assert response.status_code == 400
    assert "fact__household_or_team_size" in response.context["teach"].errors
    assert not Interaction.objects.exists()


def test_it_refuses_an_order_line_whose_product_overflows(api, alice, alices_customer):
    offering = OfferingFactory()
    response = api(alice).post(
        "/api/interactions/",
        order(alices_customer, offering, quantity="99999999.99", unit_price="9999999999.99"),
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) <= {"lines[0].quantity", "lines[0].unit_price", "lines"}
    assert not Interaction.objects.exists()
    with pytest.raises(ValidationError) as raised:
        interaction_log(
            customer=alices_customer,
            logged_by=alice,
            channel="phone",
            direction="inbound",
            type="order",
            subject="Huge order",
            lines=[
                OrderLineInput(
                    offering_id=offering.pk,
                    quantity=Decimal("1000"),
                    unit_price=Decimal("9999999.99"),
                    unit_cost=Decimal("1"),
                )
            ],
        )
    assert list(raised.value.message_dict) == ["lines[0].unit_price"]
    assert not Interaction.objects.exists()


def test_it_accepts_the_largest_order_line_and_keeps_the_summary_in_range(alice, alices_customer):
    offering = OfferingFactory()
    interaction_log(
        customer=alices_customer,
        logged_by=alice,
        channel="phone",
        direction="inbound",
        type="order",
        subject="Largest order",
        lines=[
            OrderLineInput(
                offering_id=offering.pk,
                quantity=Decimal("1000"),
                unit_price=Decimal("1000000"),
                unit_cost=Decimal("1000000"),
            )
        ],
    )
    assert customer_figures_recompute(customer_id=alices_customer.pk) is True
    alices_customer.refresh_from_db()
    assert alices_customer.figures.historic_value == Decimal("0.00")


def test_it_refuses_a_line_that_would_push_the_running_summary_out_of_range(alice, alices_customer):
    from valuation.models import CustomerSummary

    CustomerSummary.objects.create(
        customer=alices_customer, revenue_total=Decimal("99999999999999.0000")
    )
    with pytest.raises(ValidationError) as raised:
        interaction_log(
            customer=alices_customer,
            logged_by=alice,
            channel="phone",
            direction="inbound",
            type="order",
            subject="One too many",
            lines=[
                OrderLineInput(
                    offering_id=OfferingFactory().pk,
                    quantity=Decimal("1"),
                    unit_price=Decimal("10"),
                    unit_cost=Decimal("1"),
                )
            ],
        )
    assert list(raised.value.message_dict) == ["lines"]
    assert not Interaction.objects.exists()


def test_it_bounds_quantities_and_unit_amounts(alices_customer):
    line = OrderLine(
        quantity=bounds.QUANTITY_MAX + 1,
        unit_price=bounds.UNIT_AMOUNT_MAX + 1,
        unit_cost=Decimal("0"),
        discount=Decimal("1.5"),
    )
    with pytest.raises(ValidationError) as raised:
        line.full_clean(exclude=["interaction", "offering"])
    assert set(raised.value.message_dict) == {"quantity", "unit_price", "discount"}


def test_it_never_writes_a_figure_beyond_its_column():
    from valuation.services import _money

    assert _money(1e30) == Decimal("99999999999999.99")
    assert _money(-1e30) == Decimal("-99999999999999.99")


def test_it_refuses_a_fit_as_of_before_the_floor(api, ada):
    response = api(ada).post("/api/valuation/fits/", {"as_of": "0001-01-01"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"as_of": ["Must not be before 1900-01-01."]}


def test_it_answers_a_reply_to_a_stored_extreme_item_without_a_5xx(client, charlie, extreme_item):
    response = signed_in(client, charlie).post(
        reverse("mail:reply", args=[extreme_item.pk]),
        {"reply_to": extreme_item.pk, "body": "We are on it."},
    )
    assert response.status_code in (302, 400)
    extreme_item.refresh_from_db()
    # The reply cannot answer a message dated after it.
    assert extreme_item.first_response_at is None
