"""A customer's other addresses (mail and web forms from any of them reach the customer): on
the customer page, in the API's `other_emails`, and in the admin. Who edits the customer adds
and removes them; support staff, who answer the mail, may add one, never remove."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from customers.models import CustomerEmail
from customers.selectors import customers_by_email
from events.models import Event

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


def addresses(customer) -> list[str]:
    return list(customer.other_emails.values_list("address", flat=True))


@pytest.fixture
def api():
    def as_user(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return as_user


# --- The customer page ------------------------------------------------------------------------


def test_the_manager_adds_an_address_normalised_and_sees_it_on_the_page(
    client, alice, alices_customer
):
    client.force_login(alice)

    response = client.post(
        f"/customers/{alices_customer.pk}/emails/", {"address": "  Anna.K@Work.Example "}
    )

    assert response.status_code == 302
    assert addresses(alices_customer) == ["anna.k@work.example"]
    assert customers_by_email(["ANNA.K@work.example"]) == {
        "anna.k@work.example": [alices_customer.pk]
    }
    page = client.get(f"/customers/{alices_customer.pk}/").content.decode()
    assert "Other addresses" in page and "anna.k@work.example" in page
    assert "mail from it reaches Anna Keller" in page
    assert Event.objects.filter(
        name="customer.changed", customer_id=alices_customer.pk, payload={"changed": ["emails"]}
    ).exists()


def test_the_manager_removes_an_address(client, alice, alices_customer):
    CustomerEmail.objects.create(customer=alices_customer, address="old@example.org")
    client.force_login(alice)

    response = client.post(
        f"/customers/{alices_customer.pk}/emails/remove/", {"address": "OLD@example.org"}
    )

    assert response.status_code == 302
    assert addresses(alices_customer) == []


def test_removing_an_address_the_customer_does_not_have_says_so(client, alice, alices_customer):
    client.force_login(alice)

    response = client.post(
        f"/customers/{alices_customer.pk}/emails/remove/", {"address": "nobody@example.org"}
    )

    assert response.status_code == 400
    assert "not one of this customer" in response.content.decode()


def test_support_staff_add_an_address_to_any_customer_but_remove_none(
    client, charlie, bobs_customer
):
    CustomerEmail.objects.create(customer=bobs_customer, address="kept@example.org")
    client.force_login(charlie)

    page = client.get(f"/customers/{bobs_customer.pk}/").content.decode()
    assert "Add an address they write from" in page and "Remove" not in page
    added = client.post(f"/customers/{bobs_customer.pk}/emails/", {"address": "b@work.example"})
    removed = client.post(
        f"/customers/{bobs_customer.pk}/emails/remove/", {"address": "kept@example.org"}
    )

    assert (added.status_code, removed.status_code) == (302, 404)
    assert addresses(bobs_customer) == ["b@work.example", "kept@example.org"]


def test_another_managers_customer_gets_no_address(client, bob, alices_customer):
    client.force_login(bob)

    response = client.post(f"/customers/{alices_customer.pk}/emails/", {"address": "x@ex.org"})

    assert response.status_code == 404
    assert addresses(alices_customer) == []


@pytest.mark.parametrize("address", ["", "not-an-address", "a@b@c", "x" * 300 + "@example.org"])
def test_a_bad_address_is_refused_with_the_form_again(client, alice, alices_customer, address):
    client.force_login(alice)

    response = client.post(f"/customers/{alices_customer.pk}/emails/", {"address": address})

    assert response.status_code == 400
    assert response.context["form"].errors["address"]
    assert addresses(alices_customer) == []


def test_the_main_address_is_not_stored_again(client, alice, alices_customer):
    client.force_login(alice)

    response = client.post(
        f"/customers/{alices_customer.pk}/emails/", {"address": "ANNA@example.net"}, follow=True
    )

    assert "already one of Anna Keller" in response.content.decode()
    assert addresses(alices_customer) == []


# --- The API --------------------------------------------------------------------------------


def test_the_api_shows_and_replaces_the_other_addresses(api, alice, alices_customer):
    CustomerEmail.objects.create(customer=alices_customer, address="old@example.org")
    url = f"/api/customers/{alices_customer.pk}/"
    assert api(alice).get(url).json()["other_emails"] == ["old@example.org"]

    response = api(alice).patch(
        url,
        {"other_emails": ["New@Example.org", "new@example.org", "anna@EXAMPLE.net", "b@ex.org"]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["other_emails"] == ["b@ex.org", "new@example.org"]
    assert addresses(alices_customer) == ["b@ex.org", "new@example.org"]


def test_the_api_names_the_bad_address_and_changes_nothing(api, alice, alices_customer):
    response = api(alice).patch(
        f"/api/customers/{alices_customer.pk}/",
        {"name": "Anna K.", "other_emails": ["ok@example.org", "nope"]},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["other_emails[1]"]
    alices_customer.refresh_from_db()
    assert alices_customer.name == "Anna Keller" and addresses(alices_customer) == []


@pytest.mark.parametrize("value", ["a@example.org", [1, 2], {"a": 1}, [None]])
def test_the_api_refuses_what_is_not_a_list_of_addresses(api, alice, alices_customer, value):
    response = api(alice).patch(
        f"/api/customers/{alices_customer.pk}/", {"other_emails": value}, format="json"
    )
    assert response.status_code == 400
    assert all(key.startswith("other_emails") for key in response.json())


def test_the_api_creates_a_customer_with_other_addresses(api, alice):
    response = api(alice).post(
        "/api/customers/",
        {"name": "Cleo", "kind": "person", "email": "cleo@example.org",
         "other_emails": ["Cleo@Work.example"]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["other_emails"] == ["cleo@work.example"]


def test_support_staff_add_addresses_through_the_api_and_nothing_else(api, charlie, bobs_customer):
    CustomerEmail.objects.create(customer=bobs_customer, address="kept@example.org")
    url = f"/api/customers/{bobs_customer.pk}/"

    added = api(charlie).patch(
        url, {"other_emails": ["kept@example.org", "second@example.org"]}, format="json"
    )
    removing = api(charlie).patch(url, {"other_emails": ["second@example.org"]}, format="json")
    renaming = api(charlie).patch(
        url, {"name": "X", "other_emails": ["kept@example.org"]}, format="json"
    )

    assert added.status_code == 200, added.json()
    assert (removing.status_code, renaming.status_code) == (403, 403)
    assert "removing one is" in removing.json()["detail"]
    assert addresses(bobs_customer) == ["kept@example.org", "second@example.org"]
    bobs_customer.refresh_from_db()
    assert bobs_customer.name == "Bruno Rossi"


def test_a_manager_cannot_touch_another_portfolios_addresses_through_the_api(
    api, bob, alices_customer
):
    response = api(bob).patch(
        f"/api/customers/{alices_customer.pk}/", {"other_emails": ["x@ex.org"]}, format="json"
    )
    assert response.status_code == 404


def test_the_list_shows_the_addresses_in_a_fixed_number_of_queries(api, alice):
    def customers(n):
        for _ in range(n):
            customer = CustomerFactory(owner=alice)
            CustomerEmail.objects.create(customer=customer, address=f"c{customer.pk}@a.example")
            CustomerEmail.objects.create(customer=customer, address=f"c{customer.pk}@b.example")

    customers(2)
    client = api(alice)
    client.get("/api/customers/")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/customers/")
    customers(20)
    with CaptureQueriesContext(connection) as many:
        listing = client.get("/api/customers/").json()

    assert len(many) == len(few)
    assert all(len(c["other_emails"]) == 2 for c in listing["results"])


def test_the_api_filters_customers_to_triage(api, charlie, alices_customer):
    flagged = CustomerFactory(name="Unknown Sender", needs_triage=True)

    listing = api(charlie).get("/api/customers/", {"needs_triage": "true"}).json()
    others = api(charlie).get("/api/customers/", {"needs_triage": "false"}).json()
    bad = api(charlie).get("/api/customers/", {"needs_triage": "perhaps"})

    assert [c["id"] for c in listing["results"]] == [flagged.pk]
    assert listing["results"][0]["needs_triage"] is True
    assert flagged.pk not in [c["id"] for c in others["results"]]
    assert bad.status_code == 400 and "needs_triage" in bad.json()


# --- The admin ------------------------------------------------------------------------------


def test_the_admin_edits_addresses_inline_through_the_services(client, ada, alices_customer):
    CustomerEmail.objects.create(customer=alices_customer, address="old@example.org")
    old = alices_customer.other_emails.get()
    client.force_login(ada)
    url = f"/admin/customers/customer/{alices_customer.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(
        {
            "name": "Anna Keller",
            "kind": "person",
            "status": "active",
            "owner": alice_id(alices_customer),
            "other_emails-TOTAL_FORMS": "2",
            "other_emails-INITIAL_FORMS": "1",
            "other_emails-0-id": str(old.pk),
            "other_emails-0-customer": str(alices_customer.pk),
            "other_emails-0-address": "old@example.org",
            "other_emails-0-DELETE": "on",
            "other_emails-1-customer": str(alices_customer.pk),
            "other_emails-1-address": "Anna@Home.Example",
        }
    )
    data = {k: v for k, v in data.items() if v is not None}

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert addresses(alices_customer) == ["anna@home.example"]
    assert (
        Event.objects.filter(name="customer.changed", payload={"changed": ["emails"]}).count() == 2
    )


def alice_id(customer) -> str:
    return str(customer.owner_id)
