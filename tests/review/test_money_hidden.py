"""Issue 14 item 2: support staff never see money (SPEC §2), wherever they look.

A customer is seeded with distinctive money amounts (order-line price, cost and discount,
offering costs and margins, a wallet with an earlier value, figures and a snapshot), then every
GET the project answers (every named URL pattern, every path of the OpenAPI schema, lists with
filters, both CSV exports, the preference-centre link the customer page shows) is fetched as
charlie, and no money field name or planted amount may appear in any body. Posting a guessed
wallet answers nothing about the stored one.
"""

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from customers.facts import customer_fact_record
from customers.models import CustomerFact, FactKey
from dataio.models import ImportJob
from interactions.models import Interaction
from mail.models import Attachment, Message
from offerings.models import Component
from replenishment.services import replenishment_subscribe
from valuation.models import CustomerFigures, CustomerSnapshot

from ..factories import CategoryFactory, CustomerFactory, OfferingFactory
from ..test_security_access import path_for, url_names
from ..valuation.history import log_contact, log_order

pytestmark = pytest.mark.django_db

# Field names that carry money (SPEC §2 and §5): never a key of anything support receives.
MONEY_KEYS = {
    "wallet_annual",
    "historic_value",
    "predicted_clv",
    "growth_potential",
    "revenue_12m",
    "share_of_customer",
    "unit_price",
    "unit_cost",
    "discount",
    "cost",
    "margin",
    "margin_percent",
    "inferred_wallet",
    "prospect_value",
}
# The planted amounts, as the API (decimal strings), templates (intcomma, floatformat) and
# CSV would write them.
MONEY_VALUES = [
    "7777.77",
    "7,777.77",
    "3333.33",
    "3,333.33",
    "0.1234",
    "123456",
    "123,456",
    "111111",
    "111,111",
    "4444.44",
    "4,444.44",
    "4555.56",
    "4,555.56",
    "2222.22",
    "2,222.22",
    "777.78",
    "98765.43",
    "98,765.43",
    "87654.32",
    "87,654.32",
    "76543.21",
    "76,543.21",
    "65432.1",
    "65,432.1",
    "0.4321",
    "43 %",
    "55555.55",
    "55,555.55",
    "55,556",
    "44321.09",
    "44,321.09",
]
# What the customer page calls the money figures.
MONEY_LABELS = [
    "Wallet (annual)",
    "Predicted lifetime value",
    "Historic value",
    "Growth potential",
    "Share of customer",
    "Revenue",
    "margin",
    "Prospect value",
    "inferred:",
]


@pytest.fixture
def world(ada, alice, bob, charlie):
    category = CategoryFactory(name="Coffee supply")
    held = OfferingFactory(name="Beans subscription", category=category, price=Decimal("9000.00"))
    Component.objects.filter(offering=held).update(cost=Decimal("4444.44"))
    other = OfferingFactory(name="Grinder service", category=category, price=Decimal("3000.00"))
    Component.objects.filter(offering=other).update(cost=Decimal("2222.22"))
    customer = CustomerFactory(name="Anna Keller", owner=alice)
    order = log_order(
        customer, held, days_ago=40, price="7777.77", cost="3333.33", discount="0.1234"
    )
    interaction = log_contact(customer, days_ago=1, requires_response=True)
    # Someone else bought both, so the grinder is a next best offering for Anna.
    neighbour = CustomerFactory(name="Bruno Rossi", owner=bob)
    log_order(neighbour, held, days_ago=30)
    log_order(neighbour, other, days_ago=20)
    customer_fact_record(customer=customer, key="wallet_annual", value="111111", recorded_by=alice)
    customer_fact_record(customer=customer, key="wallet_annual", value="123456", recorded_by=alice)
    customer_fact_record(
        customer=customer, key="delivery_window", value="morning", recorded_by=alice
    )
    figures = {
        "historic_value": Decimal("98765.43"),
        "predicted_clv": Decimal("87654.32"),
        "growth_potential": Decimal("76543.21"),
        "share_of_customer": 0.4321,
    }
    CustomerFigures.objects.filter(pk=customer.pk).update(
        **figures,
        revenue_12m=Decimal("65432.10"),
        # A wallet inferred from peers (shown only with no wallet on record: see below) and
        # a prospect value (shown when there is one).
        inferred_wallet=Decimal("55555.55"),
        wallet_quantile=0.8,
        wallet_peers=12,
        wallet_peer_group="persons · size unknown · any needs · any tenure",
        prospect_value=Decimal("44321.09"),
        tier="mvc",
        p_alive=0.9,
        computed_at=timezone.now(),
    )
    for days_ago in (0, 7):
        CustomerSnapshot.objects.create(
            customer=customer,
            taken_on=timezone.localdate() - timedelta(days=days_ago),
            computed_at=timezone.now(),
            tier="mvc",
            p_alive=0.9,
            **figures,
        )
    import_job = ImportJob.objects.create(kind="transactions", file_name="log.csv")
    # The contact came by mail and the order continues its conversation: the conversation
    # page shows the order's lines (their amounts only to roles that see money).
    Interaction.objects.filter(pk=order.pk).update(thread=interaction)
    message = Message.objects.create(
        direction="inbound",
        via="imap",
        message_id="money@example.net",
        interaction=interaction,
        from_address="anna@example.net",
        text="Hello",
    )
    attachment = Attachment.objects.create(
        message=message, filename="a.txt", content_type="text/plain", size=1,
        file=ContentFile(b"a", name="a.txt"),
    )  # fmt: skip
    users = {"ada": ada, "alice": alice, "bob": bob, "charlie": charlie, "anonymous": None}
    # A subscription, for the pages that name one (the portal's actions among them).
    subscription = replenishment_subscribe(
        customer=customer, offering=held, next_due=timezone.localdate(), interval_days=30
    )
    return {
        "customer": customer,
        "subscription": subscription,
        "offering": held,
        "interaction": interaction,
        "order": order,
        "users": users,
        "import_job": import_job,
        "message": message,
        "attachment": attachment,
    }


def json_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*(json_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(json_keys(v) for v in value))
    return set()


# The schema and its docs describe the money fields (as optional) to everyone: no amounts.
DESCRIPTIONS = ("/api/schema/", "/api/docs/")


def money_in(path: str, body: str, content_type: str) -> list[str]:
    """What money a response body shows: field names and planted amounts."""
    found = [value for value in MONEY_VALUES if value in body]
    if path in DESCRIPTIONS:
        return found
    if "json" in content_type:
        found += sorted(json_keys(json.loads(body)) & MONEY_KEYS)
    elif "csv" in content_type:
        header = next(csv.reader(io.StringIO(body)))
        found += sorted(set(header) & MONEY_KEYS)
    else:
        found += [label for label in MONEY_LABELS if label in body]
        # Chart data and figure hooks name the figures; a fact key alone shows no amount.
        found += [
            key for key in MONEY_KEYS - {"wallet_annual"} if re.search(rf"[\"'=]{key}[\"']", body)
        ]
    return found


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def schema_get_paths(client, world) -> set[str]:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    ids = {
        "/api/offerings/{id}/": world["offering"].pk,
        "/api/interactions/{id}/": world["interaction"].pk,
        "/api/imports/{id}/": world["import_job"].pk,
    }
    paths = set()
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        paths.add(
            re.sub(r"\{[^}]+\}", str(ids.get(path, world["customer"].pk)), path)
            if "{" in path
            else path
        )
    return paths


def test_it_shows_support_no_money_in_any_response(world):
    # Given a customer with orders, offerings, a wallet, facts and figures, and charlie signed in
    customer = world["customer"]
    charlie = Client()
    charlie.force_login(world["users"]["charlie"])
    paths = {path_for(name, world) for name in url_names() if name != "logout"}
    paths |= schema_get_paths(charlie, world)
    paths |= {
        f"/api/interactions/?customer={customer.pk}",
        "/api/interactions/?type=order",
        f"/api/interactions/{world['order'].pk}/",
        "/api/offerings/?active=true",
        "/customers/?q=Anna",
        f"/customers/{customer.pk}/?type=order",
        "/interactions/search/?q=Order",
        "/search/?q=Anna",
        "/search/?q=Order",
        "/interactions/queue/?focus=1",
    }
    # When charlie opens each of them (following the preference-centre link the page shows)
    page = body_of(charlie.get(f"/customers/{customer.pk}/"))
    preference_link = re.search(r'value="https?://[^/"]+(/preferences/[^"]+/)"', page)
    assert preference_link, "the customer page shows the preference-centre link"
    paths.add(preference_link.group(1))
    leaks = {}
    statuses = {}
    for path in sorted(paths):
        response = charlie.get(path)
        statuses[path] = response.status_code
        found = money_in(path, body_of(response), response.get("Content-Type", ""))
        if found:
            leaks[path] = found
    # Then none of them shows money, and the walk did reach the pages that hold it
    assert leaks == {}
    for path in (
        f"/api/customers/{customer.pk}/timeline/",
        "/api/interactions/",
        "/api/offerings/",
        f"/api/customers/{customer.pk}/facts/",
        f"/api/customers/{customer.pk}/figures-history/",
        "/api/customers/export/",
        "/data/export/customers.csv",
        f"/customers/{customer.pk}/",
        f"/interactions/log/{customer.pk}/",
        f"/conversations/{world['interaction'].pk}/",
        preference_link.group(1),
    ):
        assert statuses[path] == 200, path
    # (/healthz answers 503 while no worker runs: a health signal, not an error)
    assert {p: s for p, s in statuses.items() if s >= 500 and p != "/healthz"} == {}


def test_it_still_shows_money_to_the_customers_manager(world):
    # Given alice, whose portfolio the customer is in
    customer = world["customer"]
    alice = APIClient()
    alice.force_authenticate(world["users"]["alice"])
    # When she reads the timeline, the offerings and the customer
    timeline = alice.get(f"/api/customers/{customer.pk}/timeline/").json()["results"]
    offerings = alice.get("/api/offerings/").json()["results"]
    detail = alice.get(f"/api/customers/{customer.pk}/").json()
    # Then she sees the prices paid, the costs and margins, the wallet and share of customer
    order = next(i for i in timeline if i["type"] == "order")
    assert order["lines"][0] | {"offering": None} == {
        "offering": None,
        "quantity": "1.00",
        "unit_price": "7777.77",
        "discount": "0.1234",
        "unit_cost": "3333.33",
    }
    beans = next(o for o in offerings if o["name"] == "Beans subscription")
    assert (beans["price"], beans["cost"], beans["margin"]) == ("9000.00", "4444.44", "4555.56")
    assert beans["components"][0]["cost"] == "4444.44"
    assert (detail["wallet_annual"], detail["share_of_customer"]) == ("123456.00", 0.4321)
    page = Client()
    page.force_login(world["users"]["alice"])
    body = page.get(f"/customers/{customer.pk}/").content.decode()
    assert "123,456" in body and "Share of customer" in body and "43 %" in body


def test_it_tells_support_nothing_about_a_wallet_they_guess(world):
    # Given the wallet alice recorded (123456) and charlie who may not see it
    customer = world["customer"]
    charlie = APIClient()
    charlie.force_authenticate(world["users"]["charlie"])
    url = f"/api/customers/{customer.pk}/facts/"
    # When charlie posts the right guess and a wrong one
    right = charlie.post(url, {"key": "wallet_annual", "value": "123456"}, format="json")
    wrong = charlie.post(url, {"key": "wallet_annual", "value": "5"}, format="json")
    # Then both answer the same refusal, naming the field, and nothing changed
    assert (right.status_code, wrong.status_code) == (400, 400)
    assert right.json() == wrong.json()
    assert set(right.json()) == {"key"}
    assert "alice" not in right.content.decode() and "123456" not in right.content.decode()
    customer.refresh_from_db()
    assert customer.wallet_annual == Decimal("123456.00")
    current = CustomerFact.objects.get(customer=customer, key__key="wallet_annual", is_current=True)
    assert (current.value, current.recorded_by.username) == ("123456", "alice")


def test_it_refuses_a_wallet_guess_logged_with_an_interaction(world):
    # Given charlie logging a call in which the customer "stated" the wallet
    customer = world["customer"]
    charlie = APIClient()
    charlie.force_authenticate(world["users"]["charlie"])
    before = Interaction.objects.count()
    # When the interaction carries the wallet as a fact learned
    response = charlie.post(
        "/api/interactions/",
        {
            "customer": customer.pk,
            "channel": "phone",
            "direction": "inbound",
            "type": "teaching",
            "subject": "Call",
            "facts": [{"key": "wallet_annual", "value": "123456"}],
        },
        format="json",
    )
    # Then it is refused without saying anything about the stored wallet, and nothing is saved
    assert response.status_code == 400
    assert "alice" not in response.content.decode()
    assert Interaction.objects.count() == before


def test_it_offers_support_no_wallet_to_confirm_in_the_log_form(world, charlie):
    # Given the log form for a customer whose wallet is known, opened by charlie
    customer = world["customer"]
    wallet = FactKey.objects.get(key="wallet_annual")
    client = Client()
    client.force_login(charlie)
    url = f"/interactions/log/{customer.pk}/"
    form = client.get(url).context["teach"]
    # When charlie posts the wallet under "Also learned" anyway
    response = client.post(
        url,
        {
            "channel": "phone",
            "direction": "inbound",
            "type": "teaching",
            "subject": "Call",
            "teach-other_key": wallet.pk,
            "teach-other_value": "123456",
        },
    )
    # Then it is neither asked nor offered, the post is refused on that field, nothing changes
    assert "teach-fact__wallet_annual" not in form.fields
    assert wallet not in form.fields["other_key"].queryset
    assert response.status_code == 400  # a refused form answers 400
    assert set(response.context["teach"].errors) == {"other_key"}
    assert "alice" not in str(response.context["teach"].errors)
    current = CustomerFact.objects.get(customer=customer, key=wallet, is_current=True)
    assert (current.value, current.recorded_by.username) == ("123456", "alice")


def test_it_lets_support_state_a_wallet_nobody_knew_yet(world, charlie):
    # Given a customer whose wallet is unknown (support asks for it: SPEC §4)
    newcomer = CustomerFactory(name="Carla Neu", owner=world["users"]["alice"])
    client = APIClient()
    client.force_authenticate(charlie)
    # When charlie records what the customer said
    response = client.post(
        f"/api/customers/{newcomer.pk}/facts/",
        {"key": "wallet_annual", "value": "2500"},
        format="json",
    )
    # Then it is recorded, and the reply tells no earlier value
    assert response.status_code == 201
    assert response.json()["supersedes"] is None
    newcomer.refresh_from_db()
    assert (newcomer.wallet_annual, newcomer.wallet_source) == (Decimal("2500"), "stated")


def test_it_answers_support_with_no_money_when_they_log_an_order(world, charlie):
    # Given charlie logging an order phoned in by the customer
    client = APIClient()
    client.force_authenticate(charlie)
    response = client.post(
        "/api/interactions/",
        {
            "customer": world["customer"].pk,
            "channel": "phone",
            "direction": "inbound",
            "type": "order",
            "subject": "Phoned order",
            "lines": [
                {
                    "offering": world["offering"].pk,
                    "quantity": "2",
                    "unit_price": "9000.00",
                    "unit_cost": "4444.44",
                }
            ],
        },
        format="json",
    )
    # Then the order is saved and the reply shows the quantities, not the money
    assert response.status_code == 201
    assert response.json()["lines"] == [{"offering": world["offering"].pk, "quantity": "2.00"}]


def test_it_declares_money_fields_optional_in_the_schema(world):
    # Given the OpenAPI schema
    client = APIClient()
    client.force_authenticate(world["users"]["charlie"])
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    # Then no component requires a money field (support receives them without it)
    required = {
        (name, field)
        for name, component in schema["components"]["schemas"].items()
        if not name.endswith(("Input", "Request"))
        for field in component.get("required", [])
        if field in MONEY_KEYS
    }
    assert required == set()


def test_it_shows_support_the_new_tier_but_no_prospect_value_or_inferred_wallet(world, charlie):
    # Given a prospect with no wallet on record, valued as a prospect, wallet inferred
    prospect = CustomerFactory(name="Petra Neu", owner=world["users"]["alice"])
    CustomerFigures.objects.filter(pk=prospect.pk).update(
        tier="new",
        prospect_value=Decimal("44321.09"),
        predicted_clv=Decimal("44321.09"),
        inferred_wallet=Decimal("55555.55"),
        wallet_quantile=0.8,
        wallet_peers=12,
        wallet_peer_group="persons · size unknown · any needs · any tenure",
        computed_at=timezone.now(),
    )
    support, manager = Client(), Client()
    support.force_login(charlie)
    manager.force_login(world["users"]["alice"])
    paths = [f"/customers/{prospect.pk}/", f"/api/customers/{prospect.pk}/"]
    # When support opens the page and the API, then they see the tier and no amount
    for path in paths:
        response = support.get(path)
        assert response.status_code == 200
        assert money_in(path, body_of(response), response["Content-Type"]) == [], path
    page = support.get(paths[0]).content.decode()
    assert "New" in page and "develop" in page
    detail = support.get(paths[1]).json()
    assert (detail["tier"], detail["wallet_source"]) == ("new", "inferred")
    # while the manager sees both, with the wallet's basis
    page = manager.get(paths[0]).content.decode()
    assert "44,321.09" in page and "55,556" in page and "12 similar customers" in page
    detail = manager.get(paths[1]).json()
    assert (detail["prospect_value"], detail["inferred_wallet"]) == ("44321.09", "55555.55")
    assert detail["wallet_peers"] == 12 and detail["wallet_quantile"] == 0.8
