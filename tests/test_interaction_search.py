"""Searching interactions (SPEC §6 timeline and search): text, customer, channel, type, dates."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def at(day: int) -> datetime:
    return timezone.make_aware(datetime(2026, 11, day, 10, 0))


@pytest.fixture
def history(alices_customer, bobs_customer):
    InteractionFactory(
        customer=alices_customer, subject="Grinder noise", channel="phone", type="complaint",
        occurred_at=at(3),
    )  # fmt: skip
    InteractionFactory(
        customer=alices_customer, subject="Delivery", notes="The grinder arrived late",
        channel="email", occurred_at=at(10),
    )  # fmt: skip
    InteractionFactory(customer=bobs_customer, subject="Grinder price", occurred_at=at(20))


def shown(client, **params):
    response = client.get("/interactions/", params)
    assert response.status_code == 200
    return [i.subject for i in response.context["page"]]


def test_it_searches_text_in_subject_and_notes_newest_first(client, charlie, history):
    client.force_login(charlie)
    assert shown(client, q="grinder") == ["Grinder price", "Delivery", "Grinder noise"]


def test_it_filters_by_customer_channel_type_and_date_range(client, charlie, history):
    client.force_login(charlie)
    assert shown(client, customer="bruno") == ["Grinder price"]
    assert shown(client, channel="phone") == ["Grinder noise"]
    assert shown(client, type="complaint") == ["Grinder noise"]
    assert shown(client, date_from="2026-11-04", date_to="2026-11-20") == [
        "Grinder price",
        "Delivery",
    ]


def test_it_searches_only_the_managers_portfolio(client, alice, history):
    client.force_login(alice)
    assert shown(client, q="grinder") == ["Delivery", "Grinder noise"]


def test_it_names_a_bad_date_range(client, charlie, history):
    client.force_login(charlie)
    response = client.get("/interactions/", {"date_from": "2026-11-20", "date_to": "2026-11-01"})
    assert response.context["form"].errors == {
        "date_to": ["The end of the range is before its start."]
    }
    response = client.get("/interactions/", {"date_from": "yesterday"})
    assert list(response.context["form"].errors) == ["date_from"]


def test_it_pages_results_with_a_fixed_number_of_queries(
    client, charlie, django_assert_num_queries
):
    client.force_login(charlie)
    for n in range(30):
        InteractionFactory(
            customer=CustomerFactory(), occurred_at=timezone.now() - timedelta(hours=n)
        )
    client.get("/interactions/")  # warm the session
    # session, user, role with its permissions (one), count, page, the navigation's count of
    # new senders to check, its count of unread notices: whatever the page size
    with django_assert_num_queries(7):
        response = client.get("/interactions/", {"page": 2})
    assert len(response.context["page"]) == 5
    assert "Page 2 of 2" in response.content.decode()
