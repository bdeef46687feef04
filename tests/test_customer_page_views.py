"""The customer page (issue 19): the "why" panel's plain-language line and the paginated
timeline with each order's amount."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from interactions.services import OrderLineInput, interaction_log
from valuation.figures import ValuationParams
from valuation.selectors import (
    Explanation,
    percent_in_words,
    spend_rounded,
    times_in_words,
    valuation_in_words,
)
from valuation.services import customer_figures_recompute

from .factories import CustomerFactory, OfferingFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("expected", "words"),
    [
        (0.0, "less than once"),
        (0.74, "less than once"),
        (0.8, "about once more"),
        (1.49, "about once more"),
        (1.6, "about twice more"),
        (2.6, "about 3 more times"),
        (3.4, "about 3 more times"),
        (12.5, "about 13 more times"),
    ],
)
def test_it_says_expected_transactions_as_a_person_would(expected, words):
    assert times_in_words(expected) == words


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [(41.7, Decimal("42")), (7.2, Decimal("7")), (1234.5, Decimal("1200")), (158, Decimal("160"))],
)
def test_it_rounds_the_spend_sensibly(amount, rounded):
    assert spend_rounded(amount) == rounded


@pytest.mark.parametrize(
    ("p", "words"), [(0.823, "82"), (0.001, "under 1"), (0.0, "0"), (0.998, "99"), (1.0, "100")]
)
def test_it_never_rounds_a_probability_to_a_certainty(p, words):
    assert percent_in_words(p) == words


def explanation(**intermediates):
    return Explanation(
        method="bgnbd_gg",
        model_fit=None,
        params=ValuationParams(horizon_months=36),
        inputs={},
        intermediates={"new": False, **intermediates},
    )


def test_it_sums_up_the_figures_in_one_line_with_or_without_money():
    explained = explanation(expected_transactions=3.2, expected_spend=39.6, p_alive=0.82)

    with_money = valuation_in_words(explained, with_money=True)
    without = valuation_in_words(explained, with_money=False)

    assert with_money is not None and without is not None
    assert (with_money.times, with_money.horizon, with_money.spend, with_money.active_percent) == (
        "about 3 more times",
        "3 years",
        Decimal("40"),
        "82",
    )
    assert without.spend is None and without.times == "about 3 more times"
    # A customer with no purchase yet is explained as a prospect instead
    assert valuation_in_words(explanation(new=True), with_money=True) is None


def buyer(owner, logged_by, *, orders: int, price: str = "40"):
    customer = CustomerFactory(owner=owner, name="Maria Buyer")
    beans = OfferingFactory(name="Beans", price=Decimal(price))
    for n in range(orders):
        interaction_log(
            customer=customer,
            logged_by=logged_by,
            channel="web",
            direction="inbound",
            type="order",
            subject=f"Order {n}",
            occurred_at=timezone.now() - timedelta(days=30 * (n + 1)),
            lines=[OrderLineInput(beans.pk, Decimal("1"), Decimal(price), Decimal("8"))],
        )
    customer_figures_recompute(customer_id=customer.pk)
    return customer


def in_words_line(response) -> str:
    content = response.content.decode()
    start = content.index("data-in-words>") + len("data-in-words>")
    return content[start : content.index("</p>", start)]


def test_it_shows_the_line_with_amounts_to_the_manager_and_without_to_support(
    client, alice, charlie
):
    # Given a customer who bought five times, €40 each
    customer = buyer(alice, alice, orders=5)
    url = reverse("customers:detail", args=[customer.pk])

    # When the manager opens the page, the line names the spend in money
    client.force_login(alice)
    manager_line = in_words_line(client.get(url))
    assert manager_line.startswith("Expected to buy ")
    assert "in the next 3 years, about €" in manager_line
    assert " each; " in manager_line and "% likely still active." in manager_line

    # When support opens it, the same line without any amount
    client.force_login(charlie)
    response = client.get(url)
    support_line = in_words_line(response)
    assert support_line.startswith("Expected to buy ")
    assert "€" not in support_line and "each" not in support_line
    assert "% likely still active." in support_line
    assert response.context["explanation"] is None  # the analyst detail stays money-only


def log(customer, by, subject, *, days_ago, lines=()):
    return interaction_log(
        customer=customer,
        logged_by=by,
        channel="web",
        direction="inbound",
        type="order" if lines else "inquiry",
        subject=subject,
        occurred_at=timezone.now() - timedelta(days=days_ago),
        lines=list(lines),
    )


def test_it_shows_each_orders_amount_to_those_who_see_money(client, alice, charlie):
    # Given an order of two beans at €40 with 10 % off and a €5 mug (72 + 5), and an inquiry
    customer = CustomerFactory(owner=alice)
    beans = OfferingFactory(name="Beans", price=Decimal("40"))
    mug = OfferingFactory(name="Mug", price=Decimal("5"))
    log(
        customer,
        alice,
        "Big order",
        days_ago=3,
        lines=[
            OrderLineInput(beans.pk, Decimal("2"), Decimal("40"), Decimal("8"), Decimal("0.1")),
            OrderLineInput(mug.pk, Decimal("1"), Decimal("5"), Decimal("1")),
        ],
    )
    log(customer, alice, "A question", days_ago=2)
    url = reverse("customers:detail", args=[customer.pk])

    # When the manager opens the page, the order carries its amount, the inquiry none
    client.force_login(alice)
    response = client.get(url)
    amounts = {i.subject: i.order_amount for i in response.context["timeline"]}
    assert amounts == {"Big order": Decimal("77.00"), "A question": None}
    assert "data-order-amount>€77.00</span>" in response.content.decode()

    # When support opens it, no amount at all
    client.force_login(charlie)
    content = client.get(url).content.decode()
    assert "Big order" in content
    assert "data-order-amount" not in content and "€77" not in content


def test_it_pages_the_timeline_newest_first_keeping_the_filter(client, alice):
    # Given 25 inquiries and one order
    customer = CustomerFactory(owner=alice)
    for n in range(25):
        log(customer, alice, f"Question {n:02}", days_ago=n + 1)
    beans = OfferingFactory(name="Beans", price=Decimal("40"))
    log(
        customer,
        alice,
        "Old order",
        days_ago=100,
        lines=[OrderLineInput(beans.pk, Decimal("1"), Decimal("40"), Decimal("8"))],
    )
    client.force_login(alice)
    url = reverse("customers:detail", args=[customer.pk])

    # When the manager opens the page, then the next page
    first = client.get(url)
    second = client.get(url, {"page": 2})

    # Then 20 newest first, then the remaining 6 with the oldest last
    assert [i.subject for i in first.context["timeline"]] == [f"Question {n:02}" for n in range(20)]
    assert [i.subject for i in second.context["timeline"]][-1] == "Old order"
    assert len(second.context["timeline"]) == 6
    assert "Page 1 of 2 · 26 interactions" in first.content.decode()
    assert "page=2#timeline" in first.content.decode()

    # And a filter stays on the pager's links; a page out of range shows the last page
    inquiries = client.get(url, {"type": "inquiry"})
    assert inquiries.context["timeline"].paginator.count == 25
    assert "type=inquiry&amp;page=2" in inquiries.content.decode()
    assert client.get(url, {"page": 99}).context["timeline"].number == 2
    assert client.get(url, {"page": "x"}).status_code == 200


def test_it_renders_the_timeline_in_a_fixed_number_of_queries(
    client, alice, django_assert_num_queries
):
    # Given a customer with 2 orders and another with 30 orders of two lines each
    beans = OfferingFactory(name="Beans", price=Decimal("40"))
    mug = OfferingFactory(name="Mug", price=Decimal("5"))
    lines = [
        OrderLineInput(beans.pk, Decimal("1"), Decimal("40"), Decimal("8")),
        OrderLineInput(mug.pk, Decimal("1"), Decimal("5"), Decimal("1")),
    ]
    few, many = CustomerFactory(owner=alice), CustomerFactory(owner=alice)
    for n in range(2):
        log(few, alice, f"Order {n}", days_ago=n + 1, lines=lines)
    for n in range(30):
        log(many, alice, f"Order {n}", days_ago=n + 1, lines=lines)
    for customer in (few, many):
        customer_figures_recompute(customer_id=customer.pk)
    client.force_login(alice)
    client.get(reverse("customers:detail", args=[few.pk]))

    with CaptureQueriesContext(connection) as small:
        client.get(reverse("customers:detail", args=[few.pk]))

    # When the manager opens the larger one, the same queries run
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(reverse("customers:detail", args=[many.pk]))
    assert len(response.context["timeline"]) == 20
    assert all(i.order_amount == Decimal("45.00") for i in response.context["timeline"])
