"""The manager's portfolio: next due action, need filter, equity trend, fixed query count."""

import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from django.utils import timezone

from customers.models import CustomerFact, FactKey, FactKind
from interactions.models import Interaction
from interactions.services import interaction_log, interaction_respond
from replenishment.models import ReplenishmentSubscription
from replenishment.services import replenishment_set_status, replenishment_subscribe
from valuation.services import customer_figures_recompute
from workspace import services
from workspace.models import PortfolioEquity

from .factories import CategoryFactory, CustomerFactory, OfferingFactory
from .workspace_helpers import figures, portfolio_of, snapshot

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("size", [2, 30])
def test_it_renders_the_portfolio_in_a_fixed_number_of_queries(
    client, alice, size, django_assert_num_queries
):
    # Given a portfolio of 2 or 30 customers with figures, snapshots, orders and due actions
    portfolio_of(alice, size, offering=OfferingFactory(name="Beans"))
    client.force_login(alice)
    client.get(reverse("customers:portfolio"))  # warm the session and role caches alike

    # When the manager opens their portfolio sorted by the next due action
    # Then the same queries run whatever its size: session, user, role and permissions (one),
    # count, page (next due action in subqueries), equity trend, totals, need categories, the
    # navigation's counts of new senders to check and of unread notices
    with django_assert_num_queries(10):
        response = client.get(reverse("customers:portfolio"), {"sort": "next_due"})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(size, 25)


def test_it_shows_the_earliest_due_action_of_each_customer(client, alice):
    # Given a customer with a next step due in 5 days and a subscription due in 2 days,
    # and a customer whose next step was followed by a later call
    today = timezone.localdate()
    anna = CustomerFactory(name="Anna", owner=alice)
    Interaction.objects.create(
        customer=anna,
        channel="phone",
        direction="outbound",
        type="outreach",
        subject="Call",
        next_step="Send the brochure",
        next_step_due=today + timedelta(days=5),
    )
    ReplenishmentSubscription.objects.create(
        customer=anna,
        offering=OfferingFactory(name="Filters"),
        interval_days=30,
        quantity=Decimal("1"),
        next_due=today + timedelta(days=2),
    )
    ben = CustomerFactory(name="Ben", owner=alice)
    Interaction.objects.create(
        customer=ben,
        channel="phone",
        direction="outbound",
        type="outreach",
        subject="Call",
        next_step="Call back",
        next_step_due=today,
        occurred_at=timezone.now() - timedelta(days=2),
    )
    Interaction.objects.create(
        customer=ben, channel="phone", direction="outbound", type="outreach", subject="Called"
    )
    client.force_login(alice)

    # When the manager opens the portfolio sorted by next due action
    response = client.get(reverse("customers:portfolio"), {"sort": "next_due"})

    # Then Anna's next action is the replenishment in 2 days; Ben has none left
    rows = {c.name: c for c in response.context["page"]}
    assert rows["Anna"].next_due == today + timedelta(days=2)
    assert rows["Anna"].next_due_label == "Replenishment"
    assert rows["Ben"].next_due is None
    assert [c.name for c in response.context["page"]] == ["Anna", "Ben"]


def test_the_portfolio_sorts_by_the_next_due_action_that_every_change_keeps_current(client, alice):
    # Given, through the services: Cara's call with a next step in 10 days, Dan's inquiry
    # from 3 days ago waiting for an answer, Eve's subscription due tomorrow, Finn with nothing
    today = timezone.localdate()
    cara, dan, eve = (CustomerFactory(name=n, owner=alice) for n in ["Cara", "Dan", "Eve"])
    CustomerFactory(name="Finn", owner=alice)

    def log(customer, **fields):
        return interaction_log(customer=customer, logged_by=alice, channel="phone", **fields)

    def recompute(*customers):  # as the worker does after each change
        for customer in customers:
            customer_figures_recompute(customer_id=customer.pk)

    log(
        cara,
        direction="outbound",
        type="outreach",
        subject="Call",
        next_step="Send the offer",
        next_step_due=today + timedelta(days=10),
    )
    inquiry = log(
        dan,
        direction="inbound",
        type="inquiry",
        subject="Question",
        occurred_at=timezone.now() - timedelta(days=3),
    )
    recompute(cara, dan)
    subscription = replenishment_subscribe(
        customer=eve,
        offering=OfferingFactory(name="Filters"),
        next_due=today + timedelta(days=1),
        interval_days=30,
    )
    client.force_login(alice)

    def sorted_by_next_due():
        page = client.get(reverse("customers:portfolio"), {"sort": "next_due"}).context["page"]
        # The stored next due action (the sort key) is the live one the page shows
        assert all(c.next_due_on == c.next_due for c in page)
        return [c.name for c in page]

    # Then the portfolio sorts by the earliest due action, customers with none last
    assert sorted_by_next_due() == ["Dan", "Eve", "Cara", "Finn"]

    # When Dan's inquiry is answered, Cara is called back and Eve's subscription is paused
    interaction_respond(interaction=inquiry)
    recompute(dan)
    assert sorted_by_next_due() == ["Eve", "Cara", "Dan", "Finn"]
    log(cara, direction="outbound", type="outreach", subject="Called back")
    recompute(cara)
    assert sorted_by_next_due() == ["Eve", "Cara", "Dan", "Finn"]
    replenishment_set_status(subscription=subscription, status="paused")

    # Then nobody has a due action left
    assert sorted_by_next_due() == ["Cara", "Dan", "Eve", "Finn"]


def test_it_filters_by_a_current_need_linked_to_a_category(client, alice):
    # Given two customers, one of whom currently needs a grinder (a need fact of that category)
    grinders = CategoryFactory(name="Grinders")
    key = FactKey.objects.create(
        key="needs-grinder", label="Grinder", kind=FactKind.NEED, category=grinders
    )
    needs = CustomerFactory(name="Needs one", owner=alice)
    CustomerFactory(name="Has one", owner=alice)
    CustomerFact.objects.create(customer=needs, key=key, value="yes", need_status="unmet")
    client.force_login(alice)

    # When the manager filters by that need
    response = client.get(reverse("customers:portfolio"), {"need": grinders.pk})

    # Then only the customer with the need is listed
    assert [c.name for c in response.context["page"]] == ["Needs one"]
    assert b"Needs Grinders" in response.content


def test_it_charts_the_equity_recorded_each_night_and_todays_live_equity(client, alice, bob):
    # Given alice's two customers worth 100 and 50 when yesterday's equity was recorded,
    # and bob's customer worth 5000
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    a1, a2 = CustomerFactory(owner=alice), CustomerFactory(owner=alice)
    b1 = CustomerFactory(owner=bob, name="Bobs")
    figures(a1, predicted_clv=Decimal("100"))
    figures(a2, predicted_clv=Decimal("50"))
    figures(b1, predicted_clv=Decimal("5000"))
    assert services.portfolio_equity_record(day=yesterday) == 2
    # ... and since then a1 has grown to 170
    figures(a1, predicted_clv=Decimal("170"))
    client.force_login(alice)

    # When alice opens her portfolio
    response = client.get(reverse("customers:portfolio"))

    # Then the trend shows her recorded equity yesterday and today's live equity, and bob's
    # customer is nowhere
    assert response.context["equity_trend"] == [
        {"day": yesterday.isoformat(), "equity": 150.0},
        {"day": today.isoformat(), "equity": 220.0},
    ]
    assert "Bobs" not in [c.name for c in response.context["page"]]
    assert b'id="equity-trend-data"' in response.content


def test_recording_the_equity_again_the_same_day_replaces_the_days_row(alice):
    # Given alice's customer worth 100 recorded today
    customer = CustomerFactory(owner=alice)
    figures(customer, predicted_clv=Decimal("100"))
    services.portfolio_equity_record()

    # When its value changes and the equity is recorded again the same day
    figures(customer, predicted_clv=Decimal("130"))
    services.portfolio_equity_record()

    # Then one row holds the latest figures
    assert list(PortfolioEquity.objects.values_list("manager", "equity", "customers")) == [
        (alice.pk, Decimal("130.00"), 1)
    ]


def test_the_migration_keeps_the_trend_the_snapshots_held(alice):
    # Given daily snapshots of alice's customers from before the equity was recorded
    migration = importlib.import_module("workspace.migrations.0002_portfolio_equity")
    today = timezone.localdate()
    a1, a2 = CustomerFactory(owner=alice), CustomerFactory(owner=alice)
    snapshot(a1, today - timedelta(days=2), predicted_clv=Decimal("80"))
    snapshot(a1, today - timedelta(days=1), predicted_clv=Decimal("100"))
    snapshot(a2, today - timedelta(days=1), predicted_clv=Decimal("50"))
    snapshot(a2, today, predicted_clv=Decimal("60"))

    # When the migration's data step runs
    migration.equity_from_snapshots(django_apps, None)

    # Then each earlier day's sum per manager is recorded (today's is live, not recorded)
    assert list(PortfolioEquity.objects.order_by("day").values_list("day", "equity")) == [
        (today - timedelta(days=2), Decimal("80.00")),
        (today - timedelta(days=1), Decimal("150.00")),
    ]


def test_the_equity_record_is_on_the_nightly_schedule():
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.get(task="workspace.tasks.portfolio_equity_record")
    assert (entry.crontab.hour, entry.crontab.minute) == ("23", "55")
