"""Orders entered in the app (issue 19): lines picked on the log form, priced from the
offering unless those who may see money agreed otherwise, and an accepted offer turned into an
order in one step."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from interactions.models import Interaction, OrderLine
from workspace.selectors.next_best import next_best_offerings

from .factories import OfferingFactory

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _order(**lines) -> dict:
    body = {
        "channel": "phone",
        "direction": "inbound",
        "type": "order",
        "subject": "Phone order",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
    }
    for index, fields in lines.items():
        for name, value in fields.items():
            body[f"lines-{index[1:]}-{name}"] = value
    return body


def test_a_manager_enters_an_order_with_two_lines(alice, alices_customer):
    beans = OfferingFactory(name="House beans", price=Decimal("24.00"))  # cost 11.50
    grinder = OfferingFactory(name="Hand grinder", price=Decimal("80.00"))
    page = _signed_in(alice).get(f"/interactions/log/{alices_customer.pk}/")
    html = page.content.decode()
    # The picker offers the catalog with list price and cost for the defaults and totals
    assert 'data-price="24.00"' in html and 'data-cost="11.50"' in html
    assert "Order total" in html
    # When she orders 2 beans at list price and one grinder at an agreed price and discount
    answer = _signed_in(alice).post(
        f"/interactions/log/{alices_customer.pk}/",
        _order(
            l0={"offering": beans.pk, "quantity": "2"},
            l1={"offering": grinder.pk, "quantity": "1", "unit_price": "75", "discount": "10"},
        ),
    )
    assert answer.status_code == 302, answer.content.decode()[:3000]
    order = Interaction.objects.get(type="order")
    lines = {line.offering_id: line for line in OrderLine.objects.filter(interaction=order)}
    assert (lines[beans.pk].quantity, lines[beans.pk].unit_price) == (2, Decimal("24.00"))
    assert lines[beans.pk].unit_cost == Decimal("11.50")
    assert lines[grinder.pk].unit_price == Decimal("75.00")
    assert lines[grinder.pk].discount == Decimal("0.1")
    assert sum(line.revenue for line in lines.values()) == Decimal("115.5")


def test_an_order_without_lines_or_with_bad_lines_is_refused_and_nothing_saved(
    alice, alices_customer
):
    beans = OfferingFactory()
    retired = OfferingFactory(active=False)
    url = f"/interactions/log/{alices_customer.pk}/"
    empty = _signed_in(alice).post(url, _order(l0={"quantity": "1"}))
    assert empty.status_code == 400
    assert "An order needs at least one line" in empty.content.decode()
    bad = _signed_in(alice).post(
        url,
        _order(
            l0={"offering": beans.pk, "quantity": "0"},
            l1={"offering": retired.pk, "quantity": "1"},
            l2={"offering": beans.pk, "quantity": "1", "discount": "150"},
        ),
    )
    assert bad.status_code == 400
    forms = bad.context["lines"].forms
    assert "quantity" in forms[0].errors
    assert "offering" in forms[1].errors  # not orderable: not among the choices
    assert "discount" in forms[2].errors
    assert bad.context["form"]["subject"].value() == "Phone order"  # what was typed is kept
    assert not Interaction.objects.exists()


def test_support_orders_at_list_price_and_sees_no_money(charlie, alices_customer):
    beans = OfferingFactory(price=Decimal("24.00"))
    page = _signed_in(charlie).get(f"/interactions/log/{alices_customer.pk}/")
    html = page.content.decode()
    assert "data-price" not in html and "Unit price" not in html and "Order total" not in html
    # A price sent all the same is not taken: the line is priced by the offering
    answer = _signed_in(charlie).post(
        f"/interactions/log/{alices_customer.pk}/",
        _order(l0={"offering": beans.pk, "quantity": "3", "unit_price": "0.01"}),
    )
    assert answer.status_code == 302
    line = OrderLine.objects.get()
    assert (line.quantity, line.unit_price, line.unit_cost) == (
        3,
        Decimal("24.00"),
        Decimal("11.50"),
    )


def test_lines_left_on_another_type_are_not_sent(alice, alices_customer):
    beans = OfferingFactory()
    body = _order(l0={"offering": beans.pk, "quantity": "1"})
    body["type"] = "inquiry"
    answer = _signed_in(alice).post(f"/interactions/log/{alices_customer.pk}/", body)
    assert answer.status_code == 302
    assert Interaction.objects.get().type == "inquiry"
    assert not OrderLine.objects.exists()


def test_an_accepted_offer_becomes_an_order_in_one_step(alice, bob, alices_customer):
    from workspace.services import offer_make

    bundle = OfferingFactory(name="Office bundle", price=Decimal("240.00"))
    offer = offer_make(customer=alices_customer, offering=bundle, made_by=alice)
    # Another portfolio's manager cannot
    assert (
        _signed_in(bob)
        .post(f"/workspace/offers/{offer.pk}/outcome/", {"outcome": "ordered"})
        .status_code
        == 404
    )
    answer = _signed_in(alice).post(
        f"/workspace/offers/{offer.pk}/outcome/", {"outcome": "ordered"}
    )
    assert answer.status_code == 302
    offer.refresh_from_db()
    assert offer.offer_outcome == "accepted"
    order = Interaction.objects.get(type="order")
    [line] = order.lines.all()
    assert (line.offering, line.quantity, line.unit_price) == (bundle, 1, Decimal("240.00"))
    assert order.occurred_at <= timezone.now()
    # It is held now: not offered again as a next best offering
    assert bundle.pk not in [n.offering.pk for n in next_best_offerings(customer=alices_customer)]


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_manager_enters_an_order_in_the_browser_and_watches_the_figures_change(
    page, alice, roles
):
    from playwright.sync_api import expect

    from .browser import shot, sign_in
    from .factories import CustomerFactory
    from .worker import celery_worker, worker_database_url

    OfferingFactory(name="House beans", price=Decimal("24.00"))
    OfferingFactory(name="Hand grinder", price=Decimal("80.00"))
    anna = CustomerFactory(name="Anna Keller", owner=alice)
    sign_in(page, "alice")
    page.goto(f"/interactions/log/{anna.pk}/")
    lines = page.locator("#order-lines")
    expect(lines).to_be_hidden()  # not an order yet
    page.get_by_label("Type").select_option("order")
    expect(lines).to_be_visible()
    page.get_by_label("Subject").fill("Phone order")
    first = lines.locator("tr.order-line").nth(0)
    first.locator("select").select_option(label="House beans")
    expect(first.locator(".price")).to_have_value("24.00")  # from the offering
    first.locator(".qty").fill("2")
    page.get_by_role("button", name="Add a line").click()
    second = lines.locator("tr.order-line").nth(1)
    second.locator("select").select_option(label="Hand grinder")
    second.locator(".price").fill("75")
    second.locator(".discount").fill("10")
    # 2 × 24 + 75 × 0.9 = 115.50, kept live as the lines change
    expect(page.locator("#order-total")).to_contain_text("115.50")
    shot(page, "order-entry-two-lines")
    page.get_by_role("button", name="Save interaction").click()
    expect(page.get_by_text("Interaction saved")).to_be_visible()
    with celery_worker(env={"DATABASE_URL": worker_database_url()}):
        # The worker recomputes; the page shows the order's margin as the historic value
        # once reloaded: (24 − 11.50) × 2 + (67.50 − 11.50) = 81.00.
        for _ in range(60):
            page.reload()
            if "81.00" in (page.locator('[data-figure="historic_value"]').text_content() or ""):
                break
            page.wait_for_timeout(500)
    expect(page.locator('[data-figure="historic_value"]')).to_contain_text("81.00")
    expect(page.locator('[data-figure="p_alive"]')).not_to_contain_text("no purchase yet")
    shot(page, "order-entry-figures")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_manager_turns_an_accepted_offer_into_an_order_in_the_browser(page, alice, roles):
    from playwright.sync_api import expect

    from workspace.services import offer_make

    from .browser import shot, sign_in
    from .factories import CustomerFactory

    bundle = OfferingFactory(name="Office bundle", price=Decimal("240.00"))
    anna = CustomerFactory(name="Anna Keller", owner=alice)
    offer_make(customer=anna, offering=bundle, made_by=alice)
    sign_in(page, "alice")
    page.goto(f"/customers/{anna.pk}/")
    waiting = page.locator(".open-offers")
    expect(waiting).to_contain_text("Office bundle")
    shot(page, "offer-awaiting-answer")
    waiting.get_by_role("button", name="Accepted: order it").click()
    expect(page.get_by_text("Office bundle accepted and ordered")).to_be_visible()
    expect(page.locator(".open-offers")).to_have_count(0)
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Order of Office bundle")
    expect(timeline).to_contain_text("€240.00")  # the order's amount, for those who see money
    shot(page, "offer-ordered")
    order = Interaction.objects.get(type="order")
    assert [(line.offering_id, line.unit_price) for line in order.lines.all()] == [
        (bundle.pk, Decimal("240.00"))
    ]
