"""The service-level report (issue 21): attainment, breaches and the median first response,
by channel, type and person, week by week; scoped to what the user may see; a fixed number of
queries whatever the number of items."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from interactions import reports
from interactions.models import Interaction
from interactions.services import interaction_log

pytestmark = pytest.mark.django_db


def _item(customer, by, *, type_, channel, days_ago, answered_after_hours=None, assignee=None):
    occurred = timezone.now() - timedelta(days=days_ago)
    item = interaction_log(
        customer=customer,
        logged_by=by,
        channel=channel,
        direction="inbound",
        type=type_,
        subject=f"{type_} by {channel}",
        requires_response=True,
        occurred_at=occurred,
        assignee=assignee,
    )
    if answered_after_hours is not None:
        Interaction.objects.filter(pk=item.pk).update(
            first_response_at=occurred + timedelta(hours=answered_after_hours)
        )
    return item


@pytest.fixture
def history(alice, bob, charlie, alices_customer, bobs_customer):
    # The default targets: a complaint within 4 hours, an inquiry within 24.
    _item(
        alices_customer,
        alice,
        type_="complaint",
        channel="email",
        days_ago=10,
        answered_after_hours=2,
        assignee=charlie,
    )  # in time
    _item(
        alices_customer,
        alice,
        type_="complaint",
        channel="phone",
        days_ago=9,
        answered_after_hours=6,
    )  # late
    _item(alices_customer, alice, type_="inquiry", channel="email", days_ago=8)  # overdue
    _item(alices_customer, alice, type_="complaint", channel="email", days_ago=0)  # waiting
    _item(
        bobs_customer, bob, type_="complaint", channel="email", days_ago=3, answered_after_hours=30
    )  # late, in bob's portfolio


def _report(user, **kwargs):
    today = timezone.localdate()
    return reports.service_level_report(
        user=user, since=today - timedelta(days=30), until=today, **kwargs
    )


def test_it_counts_attainment_and_breaches_by_channel(history, alice):
    report = _report(alice)
    rows = {row.key: row for row in report["rows"]}
    assert (rows["email"].stats.answered_in_time, rows["email"].stats.unanswered_overdue) == (1, 1)
    assert rows["email"].stats.unanswered_pending == 1
    assert rows["phone"].stats.answered_late == 1
    assert rows["email"].median_hours == pytest.approx(2.0)
    assert rows["phone"].median_hours == pytest.approx(6.0)
    # The whole period: 1 of 3 decided items in time; bob's customer is not alice's to see
    assert report["total"].breaches == 2
    assert float(report["total"].share_in_time) == pytest.approx(1 / 3)
    assert report["median_hours"] == pytest.approx(4.0)
    assert len(report["weeks"]) >= 1


def test_support_sees_every_portfolio_and_each_person(history, charlie):
    by_person = {row.label: row for row in _report(charlie, by="person")["rows"]}
    assert by_person["Charlie"].stats.answered_in_time == 1
    assert by_person["Nobody (unassigned)"].stats.answered_late == 2  # alice's phone, bob's email
    by_type = {row.key: row for row in _report(charlie, by="type")["rows"]}
    assert by_type["complaint"].stats.breaches == 2
    assert by_type["inquiry"].stats.unanswered_overdue == 1


def test_it_takes_a_fixed_number_of_queries_whatever_the_number_of_items(
    history, alice, alices_customer
):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            _report(alice, by="person")
        return len(captured)

    _report(alice)  # her role, read once a request
    before = count()
    assert before == 6
    for days in range(1, 20):
        _item(alices_customer, alice, type_="complaint", channel="chat", days_ago=days,
              answered_after_hours=days % 7)  # fmt: skip
    assert count() == before


def test_the_page_shows_the_report_and_refuses_a_bad_range(history, alice):
    client = Client()
    client.force_login(alice)
    page = client.get("/interactions/service-levels/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="service-level-chart"' in html and 'data-key="phone"' in html
    assert 'data-stat="breaches">2<' in html
    bad = client.get("/interactions/service-levels/", {"since": "2026-13-01"})
    assert bad.status_code == 400 and "Enter a valid date" in bad.content.decode()
    backwards = client.get(
        "/interactions/service-levels/", {"since": "2026-06-10", "until": "2026-06-01"}
    )
    assert "The end of the range is before its start." in backwards.content.decode()
    assert client.get("/interactions/service-levels/", {"by": "money"}).status_code == 400
