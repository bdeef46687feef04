"""Support staff work the queue in a real Chromium: keyboard, htmx, and without JavaScript."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from interactions.models import Interaction, ServiceLevelTarget

from .browser import shot, sign_in
from .factories import CustomerFactory, InteractionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue(alice, bob):
    # Transactional tests flush the migration's defaults: set the targets this test relies on.
    ServiceLevelTarget.objects.get_or_create(
        type="complaint", channel="", defaults={"first_response_hours": 4}
    )
    ServiceLevelTarget.objects.get_or_create(
        type="inquiry", channel="", defaults={"first_response_hours": 24}
    )
    now = timezone.now()
    anna = CustomerFactory(name="Anna Keller", owner=alice, preferred_channel="phone")
    bruno = CustomerFactory(name="Bruno Rossi", owner=bob, preferred_channel="email")
    InteractionFactory(
        customer=anna, type="order", subject="Ordered the house blend",
        occurred_at=now - timedelta(days=12),
    )  # fmt: skip

    def inbound(customer, type_, subject, hours_ago, channel):
        return InteractionFactory(
            customer=customer, type=type_, subject=subject, channel=channel,
            requires_response=True, occurred_at=now - timedelta(hours=hours_ago),
        )  # fmt: skip

    return {
        "grinder": inbound(anna, "complaint", "Grinder broken again", 7, "phone"),
        "invoice": inbound(bruno, "inquiry", "Question about the invoice", 26, "email"),
        "beans": inbound(bruno, "complaint", "Wrong beans delivered", 1, "chat"),
    }


def subjects(page):
    return page.locator(".queue-item .subject").all_inner_texts()


def test_support_staff_work_the_queue_with_the_keyboard(page, charlie, queue):
    sign_in(page, "charlie")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Support queue").click()
    expect(page.get_by_role("heading", name="Support queue")).to_be_visible()
    expect(page.locator(".queue-item").first).to_contain_text("3 h 00 min overdue")
    assert subjects(page) == [
        "Grinder broken again",
        "Question about the invoice",
        "Wrong beans delivered",
    ]
    first = page.locator(".queue-item").first
    expect(first).to_be_focused()
    expect(first).to_contain_text("Anna Keller")
    expect(first).to_contain_text("prefers Phone")
    shot(page, "support-queue")

    # Open what we know about the customer, one key away.
    page.keyboard.press("o")
    expect(first.locator("details")).to_have_attribute("open", "")
    expect(first.locator("details")).to_contain_text("Ordered the house blend")
    shot(page, "support-queue-what-we-know")

    # Take it: it stays first, marked as mine, and keeps the focus.
    page.keyboard.press("t")
    expect(page.get_by_role("status")).to_have_text("Yours now: Grinder broken again")
    expect(page.locator(".queue-item").first).to_contain_text("yours")
    expect(page.locator(".queue-item").first).to_be_focused()

    # Answer: the conversation opens; the customer prefers the phone, so support calls back
    # and logs the call in the thread, which is the item's response (never a bare stamp).
    page.keyboard.press("r")
    expect(page).to_have_url(
        f"/conversations/{queue['grinder'].pk}/?reply_to={queue['grinder'].pk}#reply"
    )
    expect(page.get_by_role("heading", name="Grinder broken again")).to_be_visible()
    page.get_by_role("link", name="Log a call or note", exact=True).click()
    expect(page.get_by_label("Direction")).to_have_value("outbound")
    expect(page.get_by_label("Channel")).to_have_value("phone")
    page.get_by_label("Subject").fill("Called Anna back: new burrs on their way")
    page.get_by_role("button", name="Save interaction").click()
    expect(page.get_by_text("Interaction saved")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Support queue").click()
    assert subjects(page) == [
        "Question about the invoice",
        "Wrong beans delivered",
        "Grinder broken again",
    ]
    answered = page.locator(".queue-item").last
    expect(answered).to_contain_text("answered")
    answered.focus()
    shot(page, "support-queue-responded")

    # Resolve it: it leaves the queue.
    page.keyboard.press("e")
    expect(page.get_by_role("status")).to_have_text("Resolved: Grinder broken again")
    expect(page.locator(".queue-item")).to_have_count(2)
    expect(page.get_by_text("2 open items")).to_be_visible()
    shot(page, "support-queue-resolved")
    grinder = Interaction.objects.get(pk=queue["grinder"].pk)
    assert grinder.first_response_at is not None
    assert grinder.resolved_at >= grinder.first_response_at

    # j moves down, and the filters narrow the queue in place.
    page.keyboard.press("j")
    expect(page.locator(".queue-item").nth(1)).to_be_focused()
    page.get_by_label("Type").select_option("complaint")
    expect(page.locator(".queue-item")).to_have_count(1)
    expect(page).to_have_url("/interactions/queue/?channel=&type=complaint&assignee=")
    assert subjects(page) == ["Wrong beans delivered"]

    # The resolved complaint stays findable in the interaction search.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Interactions").click()
    page.get_by_label("Text").fill("grinder")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.grid tbody tr")).to_have_count(1)
    expect(page.locator("table.grid")).to_contain_text("resolved")
    shot(page, "support-interaction-search")


def test_the_queue_works_without_javascript(browser, live_server, charlie, queue):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    try:
        sign_in(page, "charlie")
        page.goto("/interactions/queue/?type=inquiry")
        expect(page.locator("#queue-help")).to_be_hidden()
        assert subjects(page) == ["Question about the invoice"]
        page.get_by_role("button", name="Resolve").click()
        expect(page.get_by_text("Nothing is waiting for an answer.")).to_be_visible()
        shot(page, "support-queue-no-javascript")
    finally:
        context.close()
    assert Interaction.objects.get(pk=queue["invoice"].pk).resolved_at is not None
