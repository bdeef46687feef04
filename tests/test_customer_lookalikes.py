"""'This looks like ...' when a customer is created: the form warns before writing, the API
says so in its answer, and a check endpoint answers before anything is sent."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from customers import services
from customers.models import Customer

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_api_answers_the_lookalikes_of_a_new_customer_in_any_portfolio(alice, bob):
    theirs = services.customer_create(name="Clara Varga", email="clara.varga@gmail.com", owner=bob)
    mine = services.customer_create(name="Jonas Becker", phone="+49 30 1234567", owner=alice)
    # Given another portfolio's customer with the same address written another way
    answer = _api(alice).post(
        "/api/customers/",
        {"name": "clara varga", "email": "ClaraVarga+news@GoogleMail.com"},
        format="json",
    )
    # Then the customer is created all the same, and the answer names the likely duplicate,
    # whose portfolio it is in and that alice cannot open it
    assert answer.status_code == 201, answer.content
    assert Customer.objects.filter(pk=answer.data["id"], owner=alice).exists()
    [match] = answer.data["possible_duplicates"]
    assert match["id"] == theirs.pk
    assert match["owner"] == "Bob"
    assert match["visible"] is False
    assert "same e-mail after normalising" in match["reasons"]
    # A phone written two ways in her own portfolio: visible to her
    answer = _api(alice).post(
        "/api/customers/", {"name": "J. Becker", "phone": "030 1234567"}, format="json"
    )
    assert [m["id"] for m in answer.data["possible_duplicates"]] == [mine.pk]
    assert answer.data["possible_duplicates"][0]["visible"] is True
    # Someone new: nothing
    answer = _api(alice).post("/api/customers/", {"name": "Margarethe Lindqvist"}, format="json")
    assert answer.data["possible_duplicates"] == []


def test_the_check_endpoint_answers_before_anything_is_written(alice, bob, charlie):
    services.customer_create(name="Clara Varga", email="clara@example.com", owner=bob)
    before = Customer.objects.count()
    answer = _api(alice).get("/api/customers/lookalikes/", {"name": "Clara  VARGA"})
    assert answer.status_code == 200
    assert [m["name"] for m in answer.data] == ["Clara Varga"]
    assert Customer.objects.count() == before
    # Without a name it says what is missing; support staff do not create customers
    missing = _api(alice).get("/api/customers/lookalikes/", {"email": "clara@example.com"})
    assert missing.status_code == 400 and "name" in missing.data
    assert _api(charlie).get("/api/customers/lookalikes/", {"name": "x"}).status_code == 403


def test_the_form_warns_once_then_creates_when_confirmed(alice, bob):
    mine = services.customer_create(name="Clara Varga", email="clara@example.com", owner=alice)
    services.customer_create(name="C. Varga", phone="+49 30 5551234", owner=bob)
    url = reverse("customers:create")
    client = _browser(alice)
    body = {
        "name": "Clara Varga",
        "email": "CLARA@example.com",
        "phone": "030 5551234",
        "kind": "person",
        "status": "active",
    }
    # When alice saves a profile that looks like existing customers
    page = client.post(url, body)
    # Then nothing is written, the page names them (a link to her own, only the name of
    # the other portfolio's) and offers to save anyway
    assert page.status_code == 200
    assert Customer.objects.filter(email__iexact="clara@example.com").count() == 1
    html = page.content.decode()
    assert "This looks like" in html
    assert reverse("customers:detail", args=[mine.pk]) in html
    assert "Bob’s portfolio" in html
    assert 'name="create_anyway"' in html
    # When she confirms that this is someone else, it is created
    page = client.post(url, {**body, "create_anyway": "1"})
    assert page.status_code == 302
    assert Customer.objects.filter(email__iexact="clara@example.com").count() == 2
