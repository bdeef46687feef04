"""Offerings API (SPEC §10): everyone signed in reads, only admins write; errors name fields."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from offerings.models import Offering, Partner

from .factories import CategoryFactory, OfferingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def as_user(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return as_user


@pytest.fixture
def payload():
    CategoryFactory(name="Coffee supply")
    Partner.objects.create(name="Brew Techs")
    return {
        "name": "Office coffee",
        "category": "Coffee supply",
        "price": "100.00",
        "replenish_every_days": 30,
        "components": [
            {"name": "Beans 1 kg", "kind": "product", "price": "60.00", "cost": "33.10"},
            {
                "name": "Machine cleaning",
                "kind": "service",
                "provider": "Brew Techs",
                "price": "50.00",
                "cost": "20.25",
            },
        ],
    }


def test_an_admin_creates_an_offering_with_its_components(api, ada, payload):
    response = api(ada).post("/api/offerings/", payload, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("name", "category", "price", "cost", "margin", "active")} == {
        "name": "Office coffee",
        "category": "Coffee supply",
        "price": "100.00",
        "cost": "53.35",
        "margin": "46.65",
        "active": True,
    }
    assert body["margin_percent"] == "46.7"
    assert body["replenish_every_days"] == 30
    assert [(c["name"], c["kind"], c["provider"], c["cost"]) for c in body["components"]] == [
        ("Beans 1 kg", "product", "in-house", "33.10"),
        ("Machine cleaning", "service", "Brew Techs", "20.25"),
    ]


@pytest.mark.parametrize("user", ["alice", "charlie"])
def test_managers_and_support_staff_read_offerings_but_cannot_write(api, request, user, payload):
    who = request.getfixturevalue(user)
    offering = OfferingFactory(name="Beans")

    listing = api(who).get("/api/offerings/").json()
    assert set(listing) == {"count", "next", "previous", "results"}
    assert [o["name"] for o in listing["results"]] == ["Beans"]
    detail = api(who).get(f"/api/offerings/{offering.pk}/").json()
    assert detail["price"] == "24.00"  # a list price is for everyone
    if user == "alice":
        assert (detail["cost"], detail["margin"]) == ("11.50", "12.50")
    else:  # support staff never see costs or margins (SPEC §2)
        assert {"cost", "margin", "margin_percent"}.isdisjoint(detail)
        assert {"cost"}.isdisjoint(detail["components"][0])
    assert api(who).post("/api/offerings/", payload, format="json").status_code == 403
    patch = api(who).patch(f"/api/offerings/{offering.pk}/", {"price": "1.00"}, format="json")
    assert patch.status_code == 403
    assert Offering.objects.get(pk=offering.pk).price == Decimal("24.00")
    assert not Offering.objects.filter(name="Office coffee").exists()


def test_it_refuses_anonymous_requests(api):
    assert api().get("/api/offerings/").status_code in (401, 403)


def test_it_names_the_component_field_that_is_wrong(api, ada, payload):
    payload["components"][1]["cost"] = "-5"
    payload["components"][0]["provider"] = "Nobody Ltd"

    response = api(ada).post("/api/offerings/", payload, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "components[0].provider": [
            'No partner is named "Nobody Ltd"; use "in-house" or a partner\'s name.'
        ],
        "components[1].cost": ["Ensure this value is greater than or equal to 0."],
    }
    assert not Offering.objects.exists()


def test_it_refuses_an_offering_without_components(api, ada, payload):
    payload["components"] = []
    response = api(ada).post("/api/offerings/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"components": ["This list may not be empty."]}


def test_an_admin_patches_price_and_replaces_components(api, ada, payload):
    offering = OfferingFactory(name="Beans")

    response = api(ada).patch(
        f"/api/offerings/{offering.pk}/",
        {"price": "30.00", "components": payload["components"][:1]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["cost"], response.json()["margin"]) == ("33.10", "-3.10")
    assert [c.name for c in Offering.objects.get(pk=offering.pk).components.all()] == ["Beans 1 kg"]


def test_it_refuses_to_activate_an_archived_offering_naming_the_field(api, ada):
    from offerings.services import offering_archive

    offering = offering_archive(offering=OfferingFactory(name="Beans"))

    response = api(ada).patch(f"/api/offerings/{offering.pk}/", {"active": True}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "active": ["An archived offering cannot be active; restore it first."]
    }


def test_it_lists_offerings_in_a_fixed_number_of_queries(api, alice, django_assert_num_queries):
    for n in range(5):
        OfferingFactory(name=f"Offering {n}")
    client = api(alice)
    client.get("/api/offerings/")  # warm the role cache of the user

    with django_assert_num_queries(3):
        response = client.get("/api/offerings/", {"active": "true"})

    assert response.json()["count"] == 5


def test_a_patch_of_components_needs_complete_components(api, ada):
    offering = OfferingFactory(name="Beans")

    response = api(ada).patch(
        f"/api/offerings/{offering.pk}/",
        {"components": [{"kind": "product", "price": "1.00", "cost": "0.50"}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"components[0].name": ["This field is required."]}
    assert [c.name for c in offering.components.all()] == ["Beans"]


def test_the_bundle_price_defaults_to_the_components_total(api, ada, payload):
    del payload["price"]

    response = api(ada).post("/api/offerings/", payload, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["price"], response.json()["margin"]) == ("110.00", "56.65")
