"""The manager's portfolio: next due action, need filter, equity trend, fixed query count."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import CustomerFact, FactKey, FactKind
from interactions.models import Interaction
from offerings.models import ReplenishmentSubscription

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
    # Then the same queries run whatever its size: session, user, role, count, page (next due
    # action in subqueries), equity trend, totals, permissions (2), need categories
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


def test_it_charts_the_equity_of_the_managers_own_customers_by_day(client, alice, bob):
    # Given snapshots on two days for alice's customers and one for bob's
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    a1, a2 = CustomerFactory(owner=alice), CustomerFactory(owner=alice)
    b1 = CustomerFactory(owner=bob, name="Bobs")
    figures(b1, predicted_clv=Decimal("5000"))
    snapshot(a1, yesterday, predicted_clv=Decimal("100"))
    snapshot(a1, today, predicted_clv=Decimal("150"))
    snapshot(a2, today, predicted_clv=Decimal("50"))
    snapshot(b1, today, predicted_clv=Decimal("5000"))
    client.force_login(alice)

    # When alice opens her portfolio
    response = client.get(reverse("customers:portfolio"))

    # Then the trend sums her customers' CLV per day, and bob's customer is nowhere
    assert response.context["equity_trend"] == [
        {"day": yesterday.isoformat(), "equity": 100.0},
        {"day": today.isoformat(), "equity": 200.0},
    ]
    assert "Bobs" not in [c.name for c in response.context["page"]]
    assert b'id="equity-trend-data"' in response.content
