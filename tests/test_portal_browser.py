"""The customer's portal in a real browser: sign in by the link read from the SMTP test
server's mailbox, pause a subscription, and the manager sees it on the customer's page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.celery import app
from replenishment.models import ReplenishmentSubscription
from replenishment.services import replenishment_subscribe

from .browser import shot, sign_in
from .factories import CustomerFactory, OfferingFactory
from .mailservers import smtp_server, smtp_settings  # noqa: F401 - fixtures
from .valuation.history import log_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://[^\s/]+(/portal/sign-in/[A-Za-z0-9_-]+/)")


@pytest.fixture
def eager():
    # The live server runs in this process: the task runs in its thread after the commit and
    # sends to the SMTP test server (tests/test_portal.py does the same without a browser).
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def test_a_customer_signs_in_by_mail_and_pauses_a_subscription(
    page,
    smtp_settings,  # noqa: F811 - the fixture
    eager,
    alice,
):
    anna = CustomerFactory(name="Anna Keller", owner=alice, email="anna.portal@example.net")
    beans = OfferingFactory(name="House espresso beans")
    log_order(anna, beans, days_ago=12, quantity="2", price="14.00")
    subscription = replenishment_subscribe(
        customer=anna,
        offering=beans,
        next_due=timezone.localdate() + timedelta(days=4),
        interval_days=30,
    )

    page.goto("/portal/")
    expect(page.get_by_role("heading", name="Sign in to your customer portal")).to_be_visible()
    page.get_by_label("Your e-mail address").fill("Anna.Portal@example.net")
    shot(page, "portal-sign-in")
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    (received,) = smtp_settings.wait_for(1)
    body = received.message.get_body(preferencelist=("plain",)).get_content()
    path = LINK.search(body).group(1)
    page.goto(path)
    shot(page, "portal-sign-in-confirm")
    page.get_by_role("button", name="Sign me in").click()

    expect(page.get_by_role("heading", name="Hello, Anna Keller")).to_be_visible()
    card = page.locator(f"#subscription-{subscription.pk}")
    expect(card).to_contain_text("Quantity 1, every 30 days. Next delivery:")
    expect(page.locator("table.grid")).to_contain_text("House espresso beans")
    card.get_by_role("button", name="Pause").click()
    expect(card).to_contain_text("Paused: nothing is delivered until you resume.")
    expect(card.get_by_role("button", name="Resume")).to_be_visible()
    shot(page, "portal-home-paused")
    assert ReplenishmentSubscription.objects.get(pk=subscription.pk).status == "paused"

    # The link is spent: opening it again offers a new one.
    page.goto(path)
    expect(page.get_by_role("link", name="Get a new sign-in link")).to_be_visible()

    # The manager sees the change on the customer's timeline.
    page.get_by_role("link", name="Get a new sign-in link").click()
    sign_in(page, "alice")
    page.goto(f"/customers/{anna.pk}/")
    expect(
        page.get_by_text("In the portal, the customer paused House espresso beans")
    ).to_be_visible()
