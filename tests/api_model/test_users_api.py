"""Users, roles and portfolios through the API (admins only): a deactivated user's tokens are
revoked, and a handed-over portfolio moves every copy of its owner in the same transaction."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.roles import Role, role_of
from events.models import Event
from valuation.models import CustomerFigures
from workspace.models import CustomerAgenda

from ..factories import PASSWORD, CustomerFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_only_admins_reach_users(api, ada, alice, charlie):
    for user in (alice, charlie, None):
        assert api(user).get("/api/users/").status_code == 403
        assert api(user).get(f"/api/users/{ada.pk}/").status_code == 403
        assert api(user).post("/api/users/", {}, format="json").status_code == 403
    listed = api(ada).get("/api/users/").json()["results"]
    assert {row["username"]: row["role"] for row in listed} == {
        "ada": "admin",
        "alice": "manager",
        "charlie": "support",
    }


def test_an_admin_creates_a_manager_who_signs_in_and_owns_a_portfolio(api, ada, alices_customer):
    created = api(ada).post(
        "/api/users/",
        {"username": "dora", "email": "dora@example.com", "role": "manager", "password": PASSWORD},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["role"] == "manager" and created.json()["portfolio_size"] == 0
    dora = User.objects.get(username="dora")
    assert role_of(dora) == Role.MANAGER and not dora.is_staff
    signed_in = APIClient().post(
        "/api/auth/token/", {"username": "dora", "password": PASSWORD}, format="json"
    )
    assert signed_in.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "alice", "role": "manager"}, "username"),
        ({"username": "has space", "role": "manager"}, "username"),
        ({"username": "eve", "role": "overlord"}, "role"),
        ({"username": "eve", "role": "manager", "password": "123"}, "password"),
        ({"username": "eve", "role": "manager", "email": "nope"}, "email"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(api, ada, alice, body, field):
    response = api(ada).post("/api/users/", body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not User.objects.filter(username="eve").exists()


def test_changing_a_role_and_deactivating_revoke_what_they_should(api, ada, alice):
    token = Token.objects.create(user=alice)
    promoted = api(ada).patch(f"/api/users/{alice.pk}/", {"role": "admin"}, format="json")
    assert promoted.json()["role"] == "admin"
    assert User.objects.get(pk=alice.pk).is_staff
    assert Token.objects.filter(pk=token.pk).exists()  # a role change keeps the token

    deactivated = api(ada).patch(f"/api/users/{alice.pk}/", {"is_active": False}, format="json")

    assert deactivated.status_code == 200 and deactivated.json()["is_active"] is False
    assert not Token.objects.filter(user=alice).exists()
    refused = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}").get("/api/customers/")
    assert refused.status_code == 403 and "token" in refused.json()["detail"].lower()


def test_an_admin_cannot_lock_themself_out(api, ada):
    for change, field in (({"is_active": False}, "is_active"), ({"role": "support"}, "role")):
        response = api(ada).patch(f"/api/users/{ada.pk}/", change, format="json")
        assert (response.status_code, list(response.json())) == (400, [field])
    assert role_of(User.objects.get(pk=ada.pk)) == Role.ADMIN


def test_a_portfolio_handed_over_moves_the_owner_copies_with_it(
    api, ada, alice, bob, charlie, woken, django_capture_on_commit_callbacks
):
    # Given three of alice's customers and one of bob's
    mine = [CustomerFactory(owner=alice) for _ in range(3)]
    bobs = CustomerFactory(owner=bob)
    ids = [c.pk for c in mine] + [bobs.pk]
    body = {"customers": ids, "owner": bob.pk}
    assert api(alice).post("/api/customers/reassign/", body, format="json").status_code == 403
    assert api(charlie).post("/api/customers/reassign/", body, format="json").status_code == 403
    versions = dict(CustomerFigures.objects.filter(pk__in=ids).values_list("pk", "figures_version"))

    # When the admin hands them all to bob
    woken.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(ada).post("/api/customers/reassign/", body, format="json")

    # Then the three that changed hands are bob's, with the figures' and agendas' copies
    assert response.status_code == 200, response.json()
    assert response.json() == {"moved": sorted(c.pk for c in mine), "owner": "bob"}
    assert set(CustomerFigures.objects.filter(pk__in=ids).values_list("owner", flat=True)) == {
        bob.pk
    }
    assert set(CustomerAgenda.objects.filter(pk__in=ids).values_list("owner", flat=True)) == {
        bob.pk
    }
    # their figures are asked for again (the worker woken for them after the commit)
    for customer in mine:
        figures = CustomerFigures.objects.get(pk=customer.pk)
        assert figures.figures_version == versions[customer.pk] + 1
    assert {c.pk for c in mine} <= set(woken)
    # and one event names them all
    (event,) = Event.objects.filter(name="customer.changed", customer_id=None)
    assert event.payload["customer_ids"] == sorted(c.pk for c in mine)
    assert event.payload["changed"] == ["owner"]
    # Bob's API shows them, alice's no longer does
    assert api(bob).get("/api/customers/").json()["count"] == 4
    assert api(alice).get("/api/customers/").json()["count"] == 0
    assert api(alice).get(f"/api/customers/{mine[0].pk}/").status_code == 404


def test_a_single_customer_handed_over_by_patch_moves_its_copies_too(
    api, ada, bob, alices_customer
):
    response = api(ada).patch(
        f"/api/customers/{alices_customer.pk}/", {"owner": bob.pk}, format="json"
    )
    assert response.status_code == 200
    assert CustomerFigures.objects.get(pk=alices_customer.pk).owner_id == bob.pk
    assert CustomerAgenda.objects.get(pk=alices_customer.pk).owner_id == bob.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customers": [], "owner": None}, "customers"),
        ({"customers": [10**9], "owner": None}, "customers"),
        ({"customers": ["x"], "owner": None}, "customers[0]"),
        ({"customers": list(range(1, 1002)), "owner": None}, "customers"),
        ({"customers": [1], "owner": 10**9}, "owner"),
    ],
)
def test_a_bad_reassignment_names_the_field_and_moves_nothing(
    api, ada, alices_customer, body, field
):
    response = api(ada).post("/api/customers/reassign/", body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    alices_customer.refresh_from_db()
    assert alices_customer.owner.username == "alice"


def test_portfolios_go_to_active_managers_only(api, ada, alice, charlie, alices_customer):
    to_support = api(ada).post(
        "/api/customers/reassign/",
        {"customers": [alices_customer.pk], "owner": charlie.pk},
        format="json",
    )
    assert (to_support.status_code, list(to_support.json())) == (400, ["owner"])
    unassigned = api(ada).post(
        "/api/customers/reassign/",
        {"customers": [alices_customer.pk], "owner": None},
        format="json",
    )
    assert unassigned.json() == {"moved": [alices_customer.pk], "owner": None}
    assert CustomerFigures.objects.get(pk=alices_customer.pk).owner_id is None
