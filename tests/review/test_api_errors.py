"""Issue 14, item 9: API errors. An invalid filter answers 400 naming the parameter instead of
returning everyone; nested errors name their full path; errors about records the caller cannot
see read exactly like errors about records that do not exist."""

import pytest
from rest_framework.test import APIClient

from customers.models import Customer

from ..factories import CustomerFactory, InteractionFactory, OfferingFactory


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/customers/", "tier"),
        ("/api/customers/", "status"),
        ("/api/customers/", "kind"),
        ("/api/customers/", "owner"),
        ("/api/interactions/", "channel"),
        ("/api/interactions/", "type"),
        ("/api/interactions/", "direction"),
        ("/api/interactions/", "open"),
        ("/api/interactions/", "customer"),
        ("/api/offerings/", "active"),
        ("/api/offerings/", "category"),
    ],
)
def test_it_answers_400_naming_an_invalid_filter(ada, alices_customer, path, parameter):
    response = api(ada).get(path, {parameter: "zzz"})
    assert response.status_code == 400
    assert list(response.json()) == [parameter]


def test_it_answers_400_for_a_filter_it_does_not_know(ada, alices_customer):
    response = api(ada).get("/api/customers/", {"teir": "gold"})
    assert response.status_code == 400
    assert list(response.json()) == ["teir"]


def test_it_filters_customers_by_tier(ada, alice):
    gold = CustomerFactory(owner=alice, figures__tier="mvc")
    CustomerFactory(owner=alice, figures__tier="mgc")
    response = api(ada).get("/api/customers/", {"tier": "mvc", "page": 1})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [gold.pk]


def test_it_names_the_full_path_of_nested_errors(alice, alices_customer):
    beans = OfferingFactory()
    response = api(alice).post(
        "/api/interactions/",
        {
            "customer": alices_customer.pk,
            "channel": "phone",
            "direction": "inbound",
            "type": "order",
            "subject": "Order",
            "lines": [
                {"offering": beans.pk, "quantity": "1", "unit_price": "10", "unit_cost": "4"},
                {"offering": beans.pk, "quantity": "0", "unit_price": "10", "unit_cost": "4"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["lines[1].quantity"]


def test_it_names_the_full_path_of_a_fact_the_service_refuses(alice, alices_customer):
    response = api(alice).post(
        "/api/interactions/",
        {
            "customer": alices_customer.pk,
            "channel": "phone",
            "direction": "inbound",
            "type": "inquiry",
            "subject": "Question",
            "facts": [{"key": "wallet_annual", "value": "a lot"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["facts[0].value"]
    assert not alices_customer.interactions.exists()


def test_it_answers_for_another_portfolios_customer_as_for_no_customer(
    alice, alices_customer, bobs_customer
):
    def log_for(customer_id):
        body = {
            "customer": customer_id,
            "channel": "phone",
            "direction": "inbound",
            "type": "inquiry",
            "subject": "Hello",
        }
        return api(alice).post("/api/interactions/", body, format="json")

    theirs, missing = log_for(bobs_customer.pk), log_for(999_999)
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert theirs.json() == {"customer": ["No such customer."]}


def test_it_answers_for_another_customers_thread_as_for_no_thread(
    alice, alices_customer, bobs_customer
):
    their_thread = InteractionFactory(customer=bobs_customer, requires_response=True)

    def log_in(thread_id):
        body = {
            "customer": alices_customer.pk,
            "channel": "phone",
            "direction": "inbound",
            "type": "inquiry",
            "subject": "Follow-up",
            "thread": thread_id,
        }
        return api(alice).post("/api/interactions/", body, format="json")

    theirs, missing = log_in(their_thread.pk), log_in(999_999)
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert theirs.json() == {"thread": ["No such thread for this customer."]}


def test_it_answers_for_another_portfolios_referrer_as_for_no_customer(alice, bobs_customer):
    def create(referred_by):
        body = {"name": "Nadia Berg", "referred_by": referred_by}
        return api(alice).post("/api/customers/", body, format="json")

    theirs, missing = create(bobs_customer.pk), create(999_999)
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert theirs.json() == {"referred_by": ["No such customer."]}


def test_it_never_compares_a_managers_external_ref_with_other_portfolios(
    alice, alices_customer, bobs_customer
):
    # Given bob's customer carries an external reference
    bobs_customer.external_ref = "ERP-7"
    bobs_customer.save()

    # When alice tries that reference and an unused one, creating and editing
    def create(ref):
        body = {"name": "Nadia Berg", "external_ref": ref}
        return api(alice).post("/api/customers/", body, format="json")

    def edit(ref):
        body = {"external_ref": ref}
        return api(alice).patch(f"/api/customers/{alices_customer.pk}/", body, format="json")

    # Then every answer is the same refusal: nothing about bob's record is confirmed
    answers = {(r.status_code, str(r.json())) for r in (create("ERP-7"), create("ERP-8"))}
    answers |= {(r.status_code, str(r.json())) for r in (edit("ERP-7"), edit("ERP-8"))}
    assert answers == {
        (400, str({"external_ref": ["External references are set by admins and imports."]}))
    }
    assert Customer.objects.filter(external_ref="ERP-8").count() == 0


def test_it_lets_an_admin_set_an_external_ref_and_names_a_clash(ada, bobs_customer):
    bobs_customer.external_ref = "ERP-7"
    bobs_customer.save()
    created = api(ada).post(
        "/api/customers/", {"name": "Nadia Berg", "external_ref": "ERP-8"}, format="json"
    )
    clash = api(ada).post(
        "/api/customers/", {"name": "Nadia Berg", "external_ref": "ERP-7"}, format="json"
    )
    assert created.status_code == 201
    assert clash.status_code == 400
    assert list(clash.json()) == ["external_ref"]
