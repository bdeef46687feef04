"""A manager works the to-do list in a real Chromium (issue 19): done, snoozed, handed over."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from workspace.models import TodoState

from .browser import shot, sign_in
from .factories import CustomerFactory
from .valuation.history import log_contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def todos(alice, bob):
    today = timezone.localdate()
    for name, step, due in (
        ("Anna Keller", "Call to follow up", -3),
        ("Ben Ortiz", "Send the quote", 1),
        ("Cara Lind", "Visit the new shop", 2),
    ):
        log_contact(
            CustomerFactory(owner=alice, name=name),
            days_ago=5,
            requires_response=False,
            next_step=step,
            next_step_due=today + timedelta(days=due),
        )
    bob.last_name = "Marsh"
    bob.save()


def item(page, text):
    return page.locator("#next-steps li", has_text=text)


def test_a_manager_completes_snoozes_and_hands_over_to_dos(page, alice, bob, todos):
    sign_in(page, "alice")
    page.goto("/workspace/todo/")
    expect(page.locator("#at-risk")).to_contain_text("No customers at risk.")
    expect(page.locator("#next-steps li")).to_have_count(3)
    expect(page.locator("#next-steps li").first).to_contain_text("Call to follow up")
    shot(page, "todo-actions-before")

    # Done: the overdue call leaves the list
    item(page, "Call to follow up").get_by_role("button", name="Done").click()
    expect(page.get_by_text("Done: Call to follow up (Anna Keller).")).to_be_visible()
    expect(item(page, "Call to follow up")).to_have_count(0)

    # Snooze the quote for a week
    until = (timezone.localdate() + timedelta(days=7)).isoformat()
    quote = item(page, "Send the quote")
    quote.get_by_text("Snooze or hand over").click()
    quote.get_by_label("Snooze until").fill(until)
    shot(page, "todo-actions-open")
    quote.get_by_role("button", name="Snooze").click()
    expect(page.get_by_text(f"Snoozed until {until}: Send the quote (Ben Ortiz).")).to_be_visible()
    expect(item(page, "Send the quote")).to_have_count(0)

    # Hand the visit to Bob Marsh, picked by his full name
    visit = item(page, "Visit the new shop")
    visit.get_by_text("Snooze or hand over").click()
    visit.get_by_label("Reassign to").select_option(label="Bob Marsh")
    visit.get_by_role("button", name="Reassign").click()
    expect(page.get_by_text("Handed to Bob Marsh: Visit the new shop (Cara Lind).")).to_be_visible()
    expect(page.locator("#next-steps")).to_contain_text("No next steps due.")
    shot(page, "todo-actions-after")

    # The done ones, with who and when
    page.get_by_role("link", name="Show done").click()
    expect(page.locator("#done li")).to_have_count(1)
    expect(page.locator("#done")).to_contain_text("done by Alice")
    shot(page, "todo-actions-done")
    assert TodoState.objects.filter(assignee=bob).count() == 1

    # Bob finds the visit on his list, marked as Alice's customer's
    page.context.clear_cookies()
    sign_in(page, "bob")
    page.goto("/workspace/todo/")
    expect(item(page, "Visit the new shop")).to_contain_text("from Alice")
    shot(page, "todo-actions-bob")
