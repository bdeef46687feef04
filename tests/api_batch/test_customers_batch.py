"""POST /api/customers/batch/: upsert by external_ref within what the caller may edit."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from valuation.models import CustomerFigures
from workspace.models import CustomerAgenda

from ..factories import CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/api/customers/batch/"


def test_it_creates_unknown_references_and_updates_known_ones_for_an_admin(
    api, ada, alice, recomputes
):
    known = CustomerFactory(name="Old name", external_ref="shop-1", owner=alice)
    response = api(ada).post(
        URL,
        {
            "items": [
                {
                    "external_ref": "shop-1",
                    "name": "New name",
                    "wallet_annual": "900",
                    "wallet_source": "stated",
                },
                {"external_ref": "shop-9", "name": "Wallet", "wallet_annual": "900"},
                {"external_ref": "shop-2", "name": "Cleo Brandt", "owner": alice.pk},
                {"external_ref": "shop-3", "name": ""},
                {"name": "No reference"},
                {"external_ref": "shop-1", "phone": "1"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0] == {"id": known.pk}
    # A wallet says where it comes from, as in POST /api/customers/.
    assert results[1]["errors"] == {"wallet_source": ["Say where the wallet figure comes from."]}
    results.pop(1)
    assert results[1]["created"] is True
    assert "name" in results[2]["errors"]
    assert results[3]["errors"] == {"external_ref": ["This field is required."]}
    assert results[4]["errors"] == {
        "external_ref": ["This external reference is already an earlier item of the batch."]
    }
    created = Customer.objects.get(pk=results[1]["id"])
    assert (created.name, created.owner, created.external_ref) == ("Cleo Brandt", alice, "shop-2")
    # The new customer has its figures row, its agenda and a recompute; history was written.
    assert CustomerFigures.objects.filter(customer=created).exists()
    assert CustomerAgenda.objects.filter(customer=created, owner=alice).exists()
    assert created.pk in recomputes
    assert created.history.count() == 1
    assert not Customer.objects.filter(external_ref="shop-3").exists()


def test_it_lets_a_manager_update_only_their_portfolio_and_never_create(
    api, alice, bob, recomputes
):
    alices = CustomerFactory(external_ref="a-1", owner=alice, name="Anna")
    CustomerFactory(external_ref="b-1", owner=bob, name="Bruno")
    results = (
        api(alice)
        .post(
            URL,
            {
                "items": [
                    {"external_ref": "a-1", "phone": "+41 44 000 00 00"},
                    {"external_ref": "b-1", "phone": "1"},
                    {"external_ref": "nowhere", "name": "New"},
                    {"external_ref": "a-1", "owner": bob.pk},
                ]
            },
            format="json",
        )
        .json()["results"]
    )
    assert results[0] == {"id": alices.pk}
    # Another portfolio's reference reads exactly like an unknown one.
    assert results[1]["errors"] == results[2]["errors"]
    assert results[1]["errors"] == {
        "external_ref": ["External references are set by admins and imports."]
    }
    assert results[3]["errors"]["owner"] == ["Only admins reassign customers."]
    alices.refresh_from_db()
    assert alices.phone == "+41 44 000 00 00"
    assert Customer.objects.get(external_ref="b-1").phone != "1"
    assert Customer.objects.count() == 2


def test_it_refuses_support_and_commits_nothing_of_a_refused_atomic_batch(api, ada, charlie):
    assert (
        api(charlie).post(URL, {"items": [{"external_ref": "x"}]}, format="json").status_code == 403
    )
    response = api(ada).post(
        URL,
        {
            "atomic": True,
            "items": [
                {"external_ref": "n-1", "name": "Fine"},
                {"external_ref": "n-2", "name": "Bad", "email": "not an address"},
            ],
        },
        format="json",
    )
    assert response.status_code == 422
    assert "email" in response.json()["results"][1]["errors"]
    assert not Customer.objects.exists()


def test_it_refuses_1001_items_and_keeps_its_queries_fixed(api, ada, recomputes):
    client = api(ada)
    assert (
        client.post(
            URL, {"items": [{"external_ref": "x", "name": "x"}] * 1001}, format="json"
        ).status_code
        == 400
    )
    client.post(URL, {"items": [{"external_ref": "w", "name": "w"}]}, format="json")  # warm up
    counts = []
    for size in (5, 500):
        items = [{"external_ref": f"{size}-{n}", "name": f"Customer {n}"} for n in range(size)] + [
            {"external_ref": f"{size}-{n}", "name": "Renamed"} for n in range(0)
        ]
        with CaptureQueriesContext(connection) as queries:
            assert client.post(URL, {"items": items}, format="json").status_code == 200
        counts.append(len(queries))
    updates = [{"external_ref": f"500-{n}", "name": "Renamed"} for n in range(500)]
    with CaptureQueriesContext(connection) as queries:
        results = client.post(URL, {"items": updates}, format="json").json()["results"]
    assert all(r["id"] and "created" not in r for r in results)
    assert Customer.objects.filter(name="Renamed").count() == 500
    assert counts[0] == counts[1], counts
    assert len(queries) <= counts[1], (len(queries), counts)
