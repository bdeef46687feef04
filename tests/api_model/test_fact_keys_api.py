"""The fact vocabulary through the API: staff read, admins write with the admin form's rules."""

import pytest

from customers.facts import customer_fact_record
from customers.models import FactKey

from ..factories import CategoryFactory

pytestmark = pytest.mark.django_db

NEW = {
    "key": "grind",
    "label": "Grind",
    "question": "How fine do you grind?",
    "kind": "taste",
    "value_type": "choice",
    "choices": [" fine", "coarse "],
    "value_weight": 30,
}


def test_staff_read_the_vocabulary_and_only_admins_change_it(api, ada, alice, charlie):
    listed = api(charlie).get("/api/fact-keys/")
    assert listed.status_code == 200
    assert "wallet_annual" in {row["key"] for row in listed.json()["results"]}
    assert api(alice).post("/api/fact-keys/", NEW, format="json").status_code == 403

    created = api(ada).post("/api/fact-keys/", NEW, format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["choices"] == ["fine", "coarse"]
    key = FactKey.objects.get(key="grind")
    assert api(charlie).patch(f"/api/fact-keys/{key.pk}/", {"active": False}).status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"choices": []}, "choices"),  # a choice without its values
        ({"value_type": "text"}, "choices"),  # values on what is no choice
        ({"choices": ["a", "a"]}, "choices"),
        ({"value_weight": 101}, "value_weight"),
        ({"kind": "nonsense"}, "kind"),
        ({"key": "not a slug"}, "key"),
        ({"category": "No such category"}, "category"),
    ],
)
def test_it_refuses_a_key_the_admin_form_refuses_naming_the_field(api, ada, change, field):
    response = api(ada).post("/api/fact-keys/", {**NEW, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not FactKey.objects.filter(key=NEW["key"]).exists()


def test_only_a_need_names_the_category_that_serves_it(api, ada):
    CategoryFactory(name="Coffee supply")
    body = {"key": "needs_beans", "label": "Needs beans", "category": "Coffee supply"}
    refused = api(ada).post("/api/fact-keys/", {**body, "kind": "taste"}, format="json")
    created = api(ada).post("/api/fact-keys/", {**body, "kind": "need"}, format="json")
    assert refused.status_code == 400 and "category" in refused.json()
    assert created.status_code == 201 and created.json()["category"] == "Coffee supply"


def test_it_deactivates_a_key_keeping_its_facts_and_what_they_rely_on(
    api, ada, alice, alices_customer
):
    key = FactKey.objects.get(key="delivery_window")
    fact = customer_fact_record(
        customer=alices_customer, key=key, value="morning", recorded_by=alice
    )
    path = f"/api/fact-keys/{key.pk}/"

    retyped = api(ada).patch(path, {"value_type": "text", "choices": []}, format="json")
    renamed = api(ada).patch(path, {"key": "window"}, format="json")
    deactivated = api(ada).patch(path, {"active": False}, format="json")

    assert retyped.status_code == 400 and list(retyped.json()) == ["value_type"]
    assert renamed.status_code == 400 and list(renamed.json()) == ["key"]
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    fact.refresh_from_db()
    assert fact.is_current
    # No longer asked for, nor accepted anew.
    answer = api(alice).post(
        f"/api/customers/{alices_customer.pk}/facts/",
        {"key": "delivery_window", "value": "evening"},
        format="json",
    )
    assert answer.status_code == 400 and "key" in answer.json()


def test_the_wallet_stays_a_money_fact(api, ada):
    wallet = FactKey.objects.get(key="wallet_annual")
    response = api(ada).patch(f"/api/fact-keys/{wallet.pk}/", {"money": False}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["money"]
    wallet.refresh_from_db()
    assert wallet.money
