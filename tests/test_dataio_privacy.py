"""Privacy (SPEC §7): everything held on a customer as JSON, and erasure on request that
leaves no personal data in any table while the firm's totals stay the same."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from customers.facts import customer_fact_record
from customers.models import ChannelConsent, Customer, CustomerEmail, FactKey
from customers.services import customer_update
from dataio.models import ErasureRecord, ImportKind
from dataio.privacy import customer_erase
from dataio.services import import_job_create, import_job_run
from interactions.services import interaction_log
from mail.inbound import mail_receive
from mail.models import Message
from valuation.services import valuation_rebuild_everything

from .factories import CustomerFactory, OfferingFactory
from .mail.messages import raw
from .valuation.history import log_order

pytestmark = pytest.mark.django_db

NAME, EMAIL, PHONE, REF = (
    "Zelda Quirinus",
    "zelda.quirinus@example.org",
    "+41 79 555 01 23",
    "ZQ-77",
)
SECRET_NOTE = "prefers the Zanzibar blend"


@pytest.fixture
def zelda(alice, ada):
    customer = CustomerFactory(name=NAME, email=EMAIL, owner=alice)
    customer_update(customer=customer, data={"phone": PHONE, "external_ref": REF})
    key = FactKey.objects.create(key="blend", label="Favourite blend")
    customer_fact_record(customer=customer, key=key, value="Zanzibar", recorded_by=alice)
    customer_fact_record(customer=customer, key=key, value=f"{NAME}'s Zanzibar", recorded_by=alice)
    ChannelConsent.objects.create(customer=customer, channel="email", granted=True, how=EMAIL)
    offering = OfferingFactory()
    log_order(customer, offering, days_ago=200, price="40.00")
    log_order(customer, offering, days_ago=100, price="60.00")
    interaction_log(
        customer=customer,
        logged_by=alice,
        channel="phone",
        direction="inbound",
        type="inquiry",
        subject=f"Call from {NAME}",
        notes=SECRET_NOTE,
        occurred_at=timezone.now() - timedelta(days=50),
    )
    # An email from another address of theirs, with an attachment (mail.inbound).
    CustomerEmail.objects.create(customer=customer, address="zq.home@example.org")
    mail_receive(
        raw(
            sender=f"{NAME} <zq.home@example.org>",
            subject=f"About the {NAME} order",
            body=f"I still {SECRET_NOTE}.",
            attachments=[("zelda-quirinus.txt", "text/plain", SECRET_NOTE.encode())],
        ),
        via="imap",
    )
    return customer


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def text_columns_containing(needle: str) -> list[str]:
    """Every text-like column of every table in the database that contains the needle."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('character varying', 'text', 'character', 'json', 'jsonb')"
        )
        columns = cursor.fetchall()
        found = []
        for table, column in columns:
            cursor.execute(
                f'SELECT 1 FROM "{table}" WHERE "{column}"::text ILIKE %s LIMIT 1',
                [f"%{needle}%"],
            )
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    return found


def test_it_exports_everything_held_on_a_customer_as_json_for_admins(zelda, ada):
    response = api(ada).get(f"/api/customers/{zelda.pk}/export/")

    assert response.status_code == 200
    data = response.json()
    assert (data["profile"]["name"], data["profile"]["email"], data["profile"]["owner"]) == (
        NAME,
        EMAIL,
        "alice",
    )
    assert [(f["key"], f["value"], f["is_current"]) for f in data["facts"]] == [
        ("blend", "Zanzibar", False),
        ("blend", f"{NAME}'s Zanzibar", True),
    ]
    assert [c["channel"] for c in data["consents"]] == ["email"]
    assert [(i["type"], len(i["lines"])) for i in data["interactions"]] == [
        ("order", 1),
        ("order", 1),
        ("inquiry", 0),
        ("inquiry", 0),
    ]
    assert data["interactions"][2]["notes"] == SECRET_NOTE
    assert data["email_addresses"] == ["zq.home@example.org"]
    [email] = data["emails"]
    assert email["from_address"] == "zq.home@example.org"
    assert SECRET_NOTE in email["text_full"]
    assert email["attachments"] == ["zelda-quirinus.txt"]
    assert data["summary"]["transaction_days"] == 2
    assert [h["history_type"] for h in data["history"]["profile"]] == ["~", "+"]
    assert len(data["history"]["facts"]) >= 2


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_it_refuses_the_privacy_export_and_erasure_to_everyone_but_admins(zelda, who, request):
    user = request.getfixturevalue(who)

    assert api(user).get(f"/api/customers/{zelda.pk}/export/").status_code == 403
    assert api(user).post(f"/api/customers/{zelda.pk}/erase/", {"reason": "x"}).status_code == 403
    assert Customer.objects.get(pk=zelda.pk).name == NAME


def test_an_erased_customer_leaves_no_personal_data_in_any_table_and_equity_is_unchanged(
    zelda, ada
):
    import_job_run(
        job_id=import_job_create(
            kind=ImportKind.TRANSACTIONS,
            content=f"customer_ref,date,amount\n{REF},2025-01-01,30\n".encode(),
        ).pk
    )
    valuation_rebuild_everything()
    equity_before = Customer.objects.aggregate(
        clv=Sum("figures__predicted_clv"), historic=Sum("figures__historic_value")
    )
    for needle in (NAME, EMAIL, PHONE, REF, SECRET_NOTE, "Zanzibar", "zq.home"):
        assert text_columns_containing(needle), needle  # the search does find them before
    raw_copy = Message.objects.get().raw.name
    assert default_storage.exists(raw_copy)

    response = api(ada).post(
        f"/api/customers/{zelda.pk}/erase/", {"reason": "request by letter of 2026-11-20"}
    )

    assert response.status_code == 201
    for needle in (NAME, EMAIL, PHONE, REF, SECRET_NOTE, "Zanzibar", "Quirinus", "zq.home"):
        assert text_columns_containing(needle) == [], needle
    assert not default_storage.exists(raw_copy)  # the raw message and the attachment too
    valuation_rebuild_everything()
    equity_after = Customer.objects.aggregate(
        clv=Sum("figures__predicted_clv"), historic=Sum("figures__historic_value")
    )
    assert equity_after == equity_before
    erased = Customer.objects.get(pk=zelda.pk)
    assert (erased.name, erased.email, erased.phone, erased.external_ref) == (
        f"Erased customer {zelda.pk}",
        "",
        "",
        None,
    )
    assert erased.interactions.count() == 5
    record = ErasureRecord.objects.get()
    assert (record.customer_id, record.erased_by, record.reason) == (
        zelda.pk,
        ada,
        "request by letter of 2026-11-20",
    )
    assert [h.history_change_reason for h in erased.history.all()] == [
        "Personal data erased on request"
    ]


def test_it_needs_a_reason_to_erase(zelda, ada):
    response = api(ada).post(f"/api/customers/{zelda.pk}/erase/", {"reason": ""})

    assert response.status_code == 400
    assert "reason" in response.json()
    assert not ErasureRecord.objects.exists()
    assert Customer.objects.get(pk=zelda.pk).name == NAME


def test_the_erase_page_asks_for_confirmation_before_erasing(client, zelda, ada):
    client.force_login(get_user_model().objects.get(username="ada"))
    url = f"/data/customers/{zelda.pk}/erase/"

    assert client.get(url).status_code == 200
    unconfirmed = client.post(url, {"reason": "request by phone"})
    assert unconfirmed.status_code == 400
    assert Customer.objects.get(pk=zelda.pk).name == NAME

    confirmed = client.post(url, {"reason": "request by phone", "confirm": "on"})
    assert confirmed.status_code == 302
    assert Customer.objects.get(pk=zelda.pk).email == ""


def test_the_customer_page_offers_privacy_tools_to_admins_only(client, zelda, alice, ada):
    client.force_login(get_user_model().objects.get(username="alice"))
    assert "Erase personal data" not in client.get(f"/customers/{zelda.pk}/").content.decode()
    assert client.get(f"/data/customers/{zelda.pk}/erase/").status_code == 403

    client.force_login(get_user_model().objects.get(username="ada"))
    page = client.get(f"/customers/{zelda.pk}/").content.decode()
    assert "Erase personal data" in page
    download = client.get(f"/data/customers/{zelda.pk}/export.json")
    assert download.status_code == 200
    assert download.json()["profile"]["email"] == EMAIL


def test_erasing_twice_is_harmless(zelda, ada):
    customer_erase(customer_id=zelda.pk, by=ada, reason="first request")
    customer_erase(customer_id=zelda.pk, by=ada, reason="repeated request")

    assert ErasureRecord.objects.count() == 2
    assert Customer.objects.get(pk=zelda.pk).name == f"Erased customer {zelda.pk}"


def test_erasure_is_published_once_and_each_app_erases_its_own_tables(alice, ada):
    from events.models import Event

    from .factories import CustomerFactory

    customer = CustomerFactory(owner=alice, name="Vera Privat", email="vera@example.com")
    customer_erase(customer_id=customer.pk, by=ada, reason="Asked by letter")
    assert list(
        Event.objects.filter(name="customer.erased").values_list("customer_id", flat=True)
    ) == [customer.pk]
    customer.refresh_from_db()
    assert (customer.name, customer.email) == (f"Erased customer {customer.pk}", "")
