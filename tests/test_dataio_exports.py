"""Customer exports as streamed CSV, scoped by role: managers their portfolio, no money
columns for support staff."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from valuation.models import CustomerFigures

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def base(alices_customer, bobs_customer):
    CustomerFigures.objects.filter(pk=alices_customer.pk).update(predicted_clv=Decimal("910.00"))
    return alices_customer, bobs_customer


def test_a_manager_exports_only_their_portfolio_with_money(client, base, alice):
    client.force_login(get_user_model().objects.get(username="alice"))

    rows = rows_of(client.get("/data/export/customers.csv"))

    assert [(r["name"], r["owner"], r["predicted_clv"]) for r in rows] == [
        ("Anna Keller", "alice", "910.00")
    ]


def test_support_staff_export_every_customer_without_money_columns(client, base, charlie):
    client.force_login(get_user_model().objects.get(username="charlie"))

    rows = rows_of(client.get("/data/export/customers.csv"))

    assert sorted(r["name"] for r in rows) == ["Anna Keller", "Bruno Rossi"]
    money = {"wallet_annual", "historic_value", "predicted_clv", "growth_potential", "revenue_12m"}
    assert money.isdisjoint(rows[0])
    assert "tier" in rows[0]


def test_an_admin_exports_everyone_with_money(client, base, ada):
    client.force_login(get_user_model().objects.get(username="ada"))

    rows = rows_of(client.get("/data/export/customers.csv"))

    assert sorted((r["name"], r["predicted_clv"]) for r in rows) == [
        ("Anna Keller", "910.00"),
        ("Bruno Rossi", ""),
    ]


@pytest.mark.parametrize(
    ("who", "names", "money"),
    [
        ("alice", ["Anna Keller"], True),
        ("bob", ["Bruno Rossi"], True),
        ("charlie", ["Anna Keller", "Bruno Rossi"], False),
    ],
)
def test_the_api_export_follows_the_same_rules(base, who, names, money, request):
    client = APIClient()
    client.force_authenticate(request.getfixturevalue(who))

    rows = rows_of(client.get("/api/customers/export/"))

    assert sorted(r["name"] for r in rows) == names
    assert ("predicted_clv" in rows[0]) is money


def test_the_export_reads_a_fixed_number_of_queries_for_any_size(client, ada):
    client.force_login(get_user_model().objects.get(username="ada"))

    def queries_for_export() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            rows = rows_of(client.get("/data/export/customers.csv"))
        return len(rows), len(queries)

    CustomerFactory.create_batch(5)
    small = queries_for_export()
    CustomerFactory.create_batch(40)
    large = queries_for_export()

    assert (small[0], large[0]) == (5, 45)
    assert small[1] == large[1]


def test_an_anonymous_caller_gets_no_export(client, base):
    response = client.get("/data/export/customers.csv")

    assert response.status_code == 302
    assert APIClient().get("/api/customers/export/").status_code in (401, 403)
