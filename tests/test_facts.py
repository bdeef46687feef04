"""What customers teach us: facts with provenance and history, never asked twice."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from customers.facts import (
    FactInput,
    customer_fact_history,
    customer_fact_record,
    customer_next_questions,
)
from customers.models import CustomerFact, FactKey
from interactions.models import Interaction
from interactions.services import interaction_log
from valuation.services import customer_figures_recompute

from .factories import CategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def brewing():
    return FactKey.objects.create(
        key="brewing_method",
        label="Brewing method",
        question="How do you brew?",
        kind="specification",
        value_type="choice",
        choices=["espresso", "filter", "moka"],
        value_weight=80,
    )


@pytest.fixture
def supply_need():
    return FactKey.objects.create(
        key="needs_coffee_supply",
        label="Coffee supply",
        kind="need",
        category=CategoryFactory(name="Coffee supply"),
        value_weight=75,
    )


def test_it_keeps_who_taught_what_and_what_it_superseded(alice, alices_customer, brewing):
    first = customer_fact_record(
        customer=alices_customer, key=brewing, value="filter", recorded_by=alice
    )
    again = customer_fact_record(
        customer=alices_customer, key="brewing_method", value="filter", recorded_by=alice
    )
    newer = customer_fact_record(
        customer=alices_customer, key=brewing, value="espresso", recorded_by=alice
    )

    assert again == first  # the same answer twice is stored once
    assert newer.supersedes == first and newer.is_current
    first.refresh_from_db()
    assert not first.is_current
    history = list(customer_fact_history(customer_id=alices_customer.pk))
    assert [(f.value, f.is_current) for f in history] == [("espresso", True), ("filter", False)]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("brewing_method", "french press", "must be one of: espresso, filter, moka"),
        ("wallet_annual", "a lot", "must be a number"),
        ("wallet_annual", "-5", "must be zero or more"),
        ("brewing_method", "  ", "Give a value"),
        ("no_such_fact", "x", "Unknown or inactive fact"),
    ],
)
def test_it_names_what_is_wrong_with_a_fact(alice, alices_customer, brewing, key, value, message):
    with pytest.raises(ValidationError) as error:
        customer_fact_record(customer=alices_customer, key=key, value=value, recorded_by=alice)
    assert message in str(error.value)
    assert not CustomerFact.objects.exists()


def test_it_tracks_needs_with_their_status_and_share_of_needs(alice, alices_customer, supply_need):
    training = FactKey.objects.create(key="needs_training", label="Training", kind="need")
    customer_fact_record(
        customer=alices_customer,
        key=supply_need,
        value="yes",
        need_status="met_by_us",
        recorded_by=alice,
    )
    unmet = customer_fact_record(
        customer=alices_customer, key=training, value="team of 5", recorded_by=alice
    )
    assert unmet.need_status == "unmet"
    with pytest.raises(ValidationError):
        customer_fact_record(
            customer=alices_customer,
            key="wallet_annual",
            value="10",
            need_status="unmet",
            recorded_by=alice,
        )

    customer_figures_recompute(customer_id=alices_customer.pk)
    alices_customer.refresh_from_db()
    assert alices_customer.figures.share_of_needs == 0.5


def test_it_suggests_the_most_valuable_unknown_facts_and_never_asks_twice(
    alice, alices_customer, brewing
):
    # The wallet (weight 90) and brewing method (80) are the most valuable unknowns.
    asked = [key.key for key in customer_next_questions(customer=alices_customer)]
    assert asked == ["wallet_annual", "brewing_method"]

    customer_fact_record(
        customer=alices_customer, key="wallet_annual", value="1200", recorded_by=alice
    )
    alices_customer.refresh_from_db()
    assert alices_customer.wallet_annual == Decimal("1200")
    assert alices_customer.wallet_source == "stated"
    asked = [key.key for key in customer_next_questions(customer=alices_customer)]
    assert asked == ["brewing_method", "delivery_window"]


def test_it_learns_facts_in_the_same_transaction_as_the_interaction(
    charlie, alices_customer, brewing
):
    interaction = interaction_log(
        customer=alices_customer,
        logged_by=charlie,
        channel="phone",
        direction="inbound",
        type="inquiry",
        subject="Which grinder?",
        facts=[FactInput("brewing_method", "moka"), FactInput("delivery_window", "morning")],
    )
    facts = {f.key.key: f for f in CustomerFact.objects.filter(customer=alices_customer)}
    assert set(facts) == {"brewing_method", "delivery_window"}
    assert facts["brewing_method"].source_interaction == interaction
    assert facts["brewing_method"].recorded_by == charlie

    with pytest.raises(ValidationError):
        interaction_log(
            customer=alices_customer,
            logged_by=charlie,
            channel="phone",
            direction="inbound",
            type="inquiry",
            subject="Half a lesson",
            facts=[FactInput("taste_profile", "fruity"), FactInput("brewing_method", "siphon")],
        )
    assert Interaction.objects.filter(customer=alices_customer).count() == 1
    assert not CustomerFact.objects.filter(key__key="taste_profile").exists()


def test_it_serves_and_records_facts_through_the_api(alice, bob, charlie, alices_customer, brewing):
    support = APIClient()
    support.force_authenticate(charlie)
    response = support.post(
        f"/api/customers/{alices_customer.pk}/facts/",
        {"key": "brewing_method", "value": "filter"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["recorded_by"] == "charlie"

    bad = support.post(
        f"/api/customers/{alices_customer.pk}/facts/",
        {"key": "brewing_method", "value": "siphon"},
        format="json",
    )
    assert bad.status_code == 400 and "value" in bad.json()
    unknown = support.post(
        f"/api/customers/{alices_customer.pk}/facts/",
        {"key": "shoe_size", "value": "42"},
        format="json",
    )
    assert unknown.status_code == 400 and "key" in unknown.json()

    manager = APIClient()
    manager.force_authenticate(alice)
    facts = manager.get(f"/api/customers/{alices_customer.pk}/facts/").json()["results"]
    assert [(f["key"], f["value"]) for f in facts] == [("brewing_method", "filter")]
    other = APIClient()
    other.force_authenticate(bob)
    assert other.get(f"/api/customers/{alices_customer.pk}/facts/").status_code == 404
    assert (
        other.post(
            f"/api/customers/{alices_customer.pk}/facts/",
            {"key": "brewing_method", "value": "moka"},
            format="json",
        ).status_code
        == 404
    )


def test_it_shows_facts_with_provenance_on_the_customer_page(
    client, alice, charlie, alices_customer, brewing
):
    customer_fact_record(customer=alices_customer, key=brewing, value="filter", recorded_by=charlie)
    customer_fact_record(customer=alices_customer, key=brewing, value="espresso", recorded_by=alice)
    client.force_login(alice)
    page = client.get(f"/customers/{alices_customer.pk}/").content.decode()
    assert "espresso" in page and "was “filter”" in page and "by Alice" in page
    assert "Worth asking next" in page and "How do you brew?" not in page


def test_a_fact_reads_as_taught_when_its_interaction_happened_not_when_it_was_typed_in(
    client, alice, alices_customer, brewing
):
    # Given a call of long ago, logged today, that taught how the customer brews
    from .valuation.history import log_contact

    call = log_contact(alices_customer, days_ago=400)
    customer_fact_record(
        customer=alices_customer,
        key=brewing,
        value="espresso",
        recorded_by=alice,
        source_interaction=call,
    )
    client.force_login(alice)
    row = client.get(f"/customers/{alices_customer.pk}/").content.decode()
    row = row[row.index('data-fact="brewing_method"') :].split("</tr>")[0]
    # Then the profile says it was taught a year ago, in that call
    assert "1\xa0year" in row or "1 year" in row, row
    assert "minute" not in row and "by Alice" in row


def test_it_keeps_an_audit_history_of_profile_changes(client, alice, alices_customer):
    client.force_login(alice)
    client.post(
        f"/customers/{alices_customer.pk}/edit/",
        {"name": "Anna Keller-Berg", "kind": "person", "status": "active"},
    )
    changes = alices_customer.history.order_by("-history_date")
    assert changes[0].name == "Anna Keller-Berg"
    assert changes[0].history_user == alice


def test_it_keeps_the_wallet_figure_from_support_staff(client, alice, charlie, alices_customer):
    customer_fact_record(
        customer=alices_customer, key="wallet_annual", value="4321", recorded_by=alice
    )
    support = APIClient()
    support.force_authenticate(charlie)
    facts = support.get(f"/api/customers/{alices_customer.pk}/facts/").json()["results"]
    assert "wallet_annual" not in [f["key"] for f in facts]
    client.force_login(charlie)
    for url in (f"/customers/{alices_customer.pk}/", f"/interactions/log/{alices_customer.pk}/"):
        assert "4321" not in client.get(url).content.decode()
    client.force_login(alice)
    assert "4321" in client.get(f"/customers/{alices_customer.pk}/").content.decode()


def test_it_learns_facts_posted_with_an_interaction(charlie, alices_customer):
    support = APIClient()
    support.force_authenticate(charlie)
    body = {
        "customer": alices_customer.pk,
        "channel": "phone",
        "direction": "inbound",
        "type": "inquiry",
        "subject": "Deliveries",
        "facts": [{"key": "delivery_window", "value": "evening"}],
    }
    response = support.post("/api/interactions/", body, format="json")
    assert response.status_code == 201, response.json()
    fact = CustomerFact.objects.get(customer=alices_customer, key__key="delivery_window")
    assert (fact.value, fact.source_interaction_id) == ("evening", response.json()["id"])

    body["facts"] = [{"key": "delivery_window", "value": "midnight"}]
    bad = support.post("/api/interactions/", body, format="json")
    assert bad.status_code == 400 and "facts[0].value" in bad.json()
    assert Interaction.objects.filter(customer=alices_customer).count() == 1
