"""The manager's to-do list and keep/grow/shed map: what is due, who is at risk, whose it is."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from interactions.services import OrderLineInput, interaction_log
from portal.models import Idea, Review
from replenishment.services import replenishment_subscribe
from valuation.services import customer_figures_recompute
from workspace.selectors.todo import at_risk_customers, manager_todo, portfolio_median_clv

from .factories import CustomerFactory, OfferingFactory
from .workspace_helpers import figures, portfolio_of, snapshot

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("size", [2, 30])
def test_it_renders_the_todo_list_in_a_fixed_number_of_queries(
    client, alice, size, django_assert_num_queries
):
    # Given a portfolio of 2 or 30 customers, each with a due next step, an unanswered item,
    # a repeat purchase and a P(alive) that fell
    beans = OfferingFactory(name="Beans", replenish_every_days=30)
    customers = portfolio_of(alice, size, offering=beans)
    # and a review of Beans published two days ago that nobody answered
    Review.objects.bulk_create(
        Review(
            customer=c,
            offering=beans,
            rating=3,
            text="Fine",
            status="published",
            updated_at=timezone.now() - timedelta(days=2),
        )
        for c in customers
    )
    # and an idea of each posted two days ago that no admin answered
    Idea.objects.bulk_create(
        Idea(
            customer=c,
            title="Bigger bags",
            text="1 kg",
            status="published",
            created_at=timezone.now() - timedelta(days=2),
        )
        for c in customers
    )
    client.force_login(alice)
    client.get(reverse("workspace:todo"))

    # When the manager opens the to-do list
    # Then the same queries run whatever its size: session, user, role with its permissions,
    # next steps, subscriptions, predicted purchases, unanswered, median, at risk, the
    # portal's unanswered reviews and ideas, the managers a to-do may be handed to, and the
    # navigation's counts of new senders to check and of unread notices
    with django_assert_num_queries(14):
        response = client.get(reverse("workspace:todo"))
    todo = response.context["todo"]
    assert len(todo.next_steps) == size
    assert len(todo.unanswered) == size
    assert len(todo.at_risk) == size
    assert len(todo.predicted) == size
    assert len(todo.reviews) == size
    assert len(todo.ideas) == size


def test_it_lists_valuable_customers_whose_p_alive_fell_and_no_others(alice, bob):
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)

    def customer(owner, name, tier, clv, before, now):
        c = CustomerFactory(owner=owner, name=name)
        figures(c, tier=tier, predicted_clv=Decimal(clv), p_alive=now)
        snapshot(c, yesterday - timedelta(days=5), p_alive=0.1)  # older ones do not count
        snapshot(c, yesterday, p_alive=before)
        snapshot(c, today, p_alive=now)
        return c

    # Given valuable customers whose P(alive) fell or rose, a low-value one that fell,
    # and bob's valuable customer that fell
    customer(alice, "Fell MVC", "mvc", 5000, 0.9, 0.6)
    customer(alice, "Fell above median", "maintain", 4500, 0.8, 0.7)
    customer(alice, "Rose MVC", "mvc", 4000, 0.6, 0.9)
    customer(alice, "Fell but small", "maintain", 10, 0.9, 0.2)
    customer(alice, "Steady small", "maintain", 20, 0.5, 0.5)
    customer(bob, "Bobs fell", "mvc", 9000, 0.9, 0.1)

    # When alice's at-risk list is read
    at_risk = list(at_risk_customers(manager=alice))

    # Then only her valuable customers whose P(alive) fell are there, highest CLV first
    assert [c.name for c in at_risk] == ["Fell MVC", "Fell above median"]
    assert at_risk[0].p_alive_drop == pytest.approx(0.3)


def test_a_repeat_purchase_due_this_week_reaches_the_todo_list_through_the_recompute(alice):
    # Given a customer who bought beans once, 20 days ago, recomputed as the worker would
    customer = CustomerFactory(owner=alice, name="Regular")
    beans = OfferingFactory(name="Beans", price=Decimal("20"))

    def order_and_recompute(days_ago: int) -> None:
        interaction_log(
            customer=customer,
            logged_by=alice,
            channel="web",
            direction="inbound",
            type="order",
            subject="Order",
            occurred_at=timezone.now() - timedelta(days=days_ago),
            lines=[OrderLineInput(beans.pk, Decimal("1"), Decimal("20"), Decimal("8"))],
        )
        customer_figures_recompute(customer_id=customer.pk)

    order_and_recompute(20)
    # Then one purchase predicts nothing
    assert manager_todo(manager=alice).predicted == []

    # When they buy again 10 days ago
    order_and_recompute(10)

    # Then their next purchase is due today: one median interval after the last
    [due] = manager_todo(manager=alice).predicted
    purchase = due["purchase"]
    assert (due["customer_name"], purchase.offering, purchase.median_interval_days) == (
        "Regular",
        beans,
        10.0,
    )
    assert purchase.predicted_on == timezone.localdate()

    # When the customer subscribes to beans, the subscription says when instead
    replenishment_subscribe(
        customer=customer, offering=beans, next_due=timezone.localdate(), interval_days=10
    )
    assert manager_todo(manager=alice).predicted == []


def test_it_never_shows_another_managers_customers(client, alice, bob):
    # Given both managers have customers with due work
    portfolio_of(alice, 1)
    portfolio_of(bob, 1)
    client.force_login(alice)

    # When alice opens her to-do list, the map and the portfolio
    pages = [
        client.get(reverse("workspace:todo")),
        client.get(reverse("workspace:map")),
        client.get(reverse("customers:portfolio")),
    ]

    # Then bob's customers appear on none of them
    for response in pages:
        assert response.status_code == 200
        assert b"alice customer 000" in response.content
        assert b"bob customer" not in response.content


def test_it_links_every_dot_of_the_map_to_its_customer(client, alice):
    # Given a valued customer and one without figures yet
    valued = CustomerFactory(owner=alice, name="Valued")
    figures(valued, tier="mgc", predicted_clv=Decimal("1200"), growth_potential=Decimal("800"))
    CustomerFactory(owner=alice, name="Not valued")
    client.force_login(alice)

    # When the manager opens the map
    response = client.get(reverse("workspace:map"))

    # Then the valued customer is a point linking to its page
    assert response.context["map"]["points"] == [
        {
            "name": "Valued",
            "tier": "mgc",
            "clv": 1200.0,
            "growth": 800.0,
            "url": reverse("customers:detail", args=[valued.pk]),
        }
    ]
    assert b'id="map-data"' in response.content


def test_it_keeps_support_staff_out_of_the_workspace(client, charlie):
    client.force_login(charlie)
    assert client.get(reverse("workspace:todo")).status_code == 403
    assert client.get(reverse("workspace:map")).status_code == 403


@pytest.mark.parametrize(
    ("values", "median"), [([], None), ([10, 40, 20], 20), ([10, 20, 40, 100], 30)]
)
def test_the_portfolio_median_is_the_middle_value_or_the_mean_of_the_middle_two(
    alice, bob, values, median
):
    for value in values:
        figures(CustomerFactory(owner=alice), predicted_clv=Decimal(value))
    figures(CustomerFactory(owner=bob), predicted_clv=Decimal(99999))  # not alice's
    CustomerFactory(owner=alice)  # no figures yet: not counted

    assert portfolio_median_clv(manager=alice) == (None if median is None else Decimal(median))
