"""Bad input, generated from the OpenAPI schema: schemathesis sends valid and invalid requests to
every API operation, authenticated as each role and anonymously, and checks that none gets a
5xx and that every response conforms to the schema (body, content type, headers).

Totals are written to test-artifacts/schemathesis-totals.json.
"""

import json
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from crm.wsgi import application
from webhooks.models import Delivery, Endpoint

from .factories import CustomerFactory, OfferingFactory
from .valuation.history import log_contact, log_order
from .worker import ARTIFACTS

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION_AND_ROLE = 5
ROLES = ["ada", "alice", "bob", "charlie", "anonymous"]
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
totals: Counter = Counter()
operations: set[str] = set()


@pytest.fixture(scope="module", autouse=True)
def report_totals():
    yield
    ARTIFACTS.mkdir(exist_ok=True)
    summary = {"operations": len(operations), **totals}
    (ARTIFACTS / "schemathesis-totals.json").write_text(json.dumps(summary, indent=2))


@pytest.fixture
def keep_the_test_connection():
    """Like Django's test client: the WSGI app must not close the test transaction's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(keep_the_test_connection, ada, alice, bob, charlie):
    """A small world to poke at: customers of both managers, their history, an offering."""
    offering = OfferingFactory()
    for owner in (alice, bob):
        customer = CustomerFactory(owner=owner)
        log_order(customer, offering, days_ago=30)
        log_contact(customer, days_ago=3)
    # A webhook endpoint with one delivery in its log, for the webhooks operations.
    endpoint = Endpoint.objects.create(
        url="https://hooks.example.com/crm", events=["customer.created"], secret="whsec_x"
    )
    Delivery.objects.create(
        endpoint=endpoint, event_id="evt_1", event_type="customer.created", body="{}"
    )
    return {
        user.username: Token.objects.create(user=user).key for user in (ada, alice, bob, charlie)
    }


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION_AND_ROLE,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    suppress_health_check=list(HealthCheck),
)
def test_it_never_answers_with_a_server_error_or_off_schema(case, role, tokens):
    headers = {"Authorization": f"Token {tokens[role]}"} if role in tokens else {}
    operations.add(case.operation.label)
    totals["examples"] += 1
    try:
        case.call_and_validate(headers=headers, checks=CHECKS)
    except Exception:
        totals["failures"] += 1
        raise


def test_it_filters_by_a_time_with_an_offset_postgresql_does_not_accept(client, alice):
    # Found by the fuzzing above: ISO 8601 allows +21:59, PostgreSQL only up to ±15:59.
    client.force_login(alice)
    for name in ("occurred_after", "occurred_before"):
        response = client.get("/api/interactions/", {name: "2021-03-17T22:36:37.8565+21:59"})
        assert response.status_code == 200
        assert response.json()["results"] == []
