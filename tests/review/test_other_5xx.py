"""Issue 14, item 6 (other 5xx): the inputs the review named, as precise regression tests.

- a NUL byte in a query string or a form field (PostgreSQL cannot store NUL in text),
- deeply nested JSON (Python's parser recursed until RecursionError),
- a non-numeric offering on the make-offer form,
- a bad "Also learned" value on the log form (errors attached to a field the form lacks).

The generated version of the same, over every HTML view and role, is test_form_fuzz.py.
"""

import io
import json

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from core.parsers import BoundedJSONParser
from customers.models import Customer, CustomerFact, FactKey, WalletSource
from interactions.models import Interaction

from ..factories import CustomerFactory

pytestmark = pytest.mark.django_db

NUL = "\x00"


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.mark.parametrize("path", ["/customers/", "/customers/portfolio/"])
@pytest.mark.parametrize("name", ["q", "status", "tier"])
def test_it_refuses_a_nul_byte_in_a_list_filter_with_a_400_naming_it(alice_client, path, name):
    # Given alice's portfolio; when a filter carries a NUL byte
    response = alice_client.get(path, {name: f"an{NUL}na"})
    # then the page answers 400 and says which parameter is wrong
    assert response.status_code == 400
    assert f"“{name}”" in response.content.decode()
    assert "Null characters are not allowed." in response.content.decode()


def test_it_refuses_a_nul_byte_in_an_api_query_string_with_json_naming_the_parameter(alice):
    client = APIClient()
    client.force_authenticate(alice)
    response = client.get("/api/customers/", {"q": f"x{NUL}"})
    assert response.status_code == 400
    assert response.json() == {"q": ["Null characters are not allowed."]}


def test_it_refuses_a_nul_byte_in_a_form_post_before_anything_reads_it(client, alice):
    # The sign-in page: django-axes looks the username up before the form validates it.
    response = client.post("/accounts/login/", {"username": f"alice{NUL}", "password": "x"})
    assert response.status_code == 400
    assert "“username”" in response.content.decode()


def test_it_answers_an_overlong_username_on_the_sign_in_page_with_a_form_error(client, alice):
    # Found by test_form_fuzz.py: django-axes stored the attempt in a varchar(255): a 500.
    response = client.post("/accounts/login/", {"username": "x" * 5_000, "password": "x"})
    assert response.status_code == 200
    assert "at most 150 characters" in " ".join(response.context["form"].errors["username"])


def test_it_refuses_a_nul_byte_in_a_parameter_name(alice_client):
    response = alice_client.get(f"/customers/?q{NUL}=1")
    assert response.status_code == 400


def test_it_keeps_ordinary_unicode_in_a_filter(alice_client, alice):
    CustomerFactory(owner=alice, name="Zoë Ångström")
    response = alice_client.get("/customers/", {"q": "Ångström"})
    assert response.status_code == 200
    assert "Zoë Ångström" in response.content.decode()


@pytest.mark.parametrize("path", ["/api/interactions/", "/api/customers/"])
def test_it_refuses_deeply_nested_json_with_a_400_naming_the_problem(alice, path):
    # Given 50,000 nested arrays (Python's json module raised RecursionError: a 500)
    client = APIClient()
    client.force_authenticate(alice)
    body = "[" * 50_000 + "]" * 50_000
    response = client.generic("POST", path, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_it_still_parses_ordinary_json_with_brackets_inside_strings(alice):
    client = APIClient()
    client.force_authenticate(alice)
    name = "[" * 100 + "{" * 100
    response = client.post("/api/customers/", {"name": name, "kind": "person"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == name


def test_it_refuses_json_larger_than_the_upload_limit(settings):
    # Unit-level: Django's own check on request.body answers first where something read it.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"name": "x" * 2000}).encode()
    with pytest.raises(ParseError, match="larger than 1000 bytes"):
        BoundedJSONParser().parse(io.BytesIO(body), parser_context={})


@pytest.mark.parametrize(
    "text",
    ['{"name": "a\\u0000b", "kind": "person"}', '{"name": "a\\ud800b", "kind": "person"}'],
    ids=["nul", "lone-surrogate"],
)
def test_it_refuses_json_strings_postgresql_cannot_store(alice, text):
    client = APIClient()
    client.force_authenticate(alice)
    response = client.generic("POST", "/api/customers/", text, content_type="application/json")
    assert response.status_code == 400
    assert "the string at name cannot be stored" in response.json()["detail"]


@pytest.mark.parametrize("offering", ["abc", "1.5", "-1", "99999999999999999999999", f"1{NUL}"])
def test_it_answers_a_bad_offering_on_the_make_offer_form_with_the_message(
    alice_client, alices_customer, offering
):
    response = alice_client.post(
        f"/workspace/customers/{alices_customer.pk}/offer/", {"offering": offering}, follow=True
    )
    assert response.status_code in (200, 400)
    assert not Interaction.objects.filter(customer=alices_customer).exists()
    if response.status_code == 200:
        assert "choose one of the next best offerings" in response.content.decode()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("household_or_team_size", "-3", "must be zero or more"),
        ("wallet_annual", "lots", "must be a number"),
    ],
)
def test_it_shows_a_bad_also_learned_value_on_its_field(
    alice_client, alices_customer, key, value, message
):
    # Given a fact the form does not ask (the least valuable to know, the wallet already on
    # the profile), so it is offered under "Also learned"
    Customer.objects.filter(pk=alices_customer.pk).update(
        wallet_annual=1000, wallet_source=WalletSource.ESTIMATED
    )
    FactKey.objects.filter(key=key).update(value_weight=0)
    fact_key = FactKey.objects.get(key=key)
    response = alice_client.post(
        f"/interactions/log/{alices_customer.pk}/",
        {
            "channel": "phone",
            "direction": "inbound",
            "type": "inquiry",
            "subject": "Call",
            "teach-other_key": fact_key.pk,
            "teach-other_value": value,
        },
    )
    # A refused form is re-rendered with 400 (tests/review/test_dates_and_numbers.py)
    assert response.status_code == 400
    teach = response.context["teach"]
    assert message in " ".join(teach.errors["other_value"])
    assert not Interaction.objects.filter(customer=alices_customer).exists()
    assert not CustomerFact.objects.filter(customer=alices_customer).exists()
