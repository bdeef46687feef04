"""Search everywhere in a real Chromium (issue 19): "/" focuses the top bar's box from any
page, the results name each customer's manager, and another portfolio's customer opens as a
read-only card without money."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from customers import services

from .browser import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_lets_a_manager_search_everywhere_from_the_keyboard(page, alice, bob):
    anna = services.customer_create(
        name="Anna Keller",
        email="anna.keller@example.net",
        phone="+49 30 1234567",
        wallet_annual=Decimal("98765.43"),
        wallet_source="stated",
        owner=alice,
    )
    services.customer_create(name="Bruno Keller", email="bruno@example.net", owner=bob)
    sign_in(page, "bob")
    page.goto("/customers/portfolio/")

    box = page.get_by_role("searchbox", name="Search customers and interactions")
    # "/" anywhere on the page focuses the top bar's box
    page.locator("h1").click()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    box.type("030 123 4567")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Search everywhere")).to_be_visible()
    expect(box).to_have_value("030 123 4567")
    rows = page.locator("#customer-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Anna Keller")
    expect(rows.first).to_contain_text("Alice")
    expect(rows.first).to_contain_text("read-only")

    # By name: both Kellers, each with their manager by name
    page.locator("h1").click()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    box.fill("keller")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Bob")
    shot(page, "search-results")

    # In a field, "/" is typed, not a shortcut
    page_box = page.get_by_label("Name, e-mail, phone, reference or words of an interaction")
    page_box.fill("")
    page_box.type("a/b")
    expect(page_box).to_have_value("a/b")
    expect(page_box).to_be_focused()

    # Alice's customer opens as a card: no money, no actions
    rows.first.get_by_role("link", name="Anna Keller").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Anna Keller")
    expect(page.get_by_text("In Alice’s portfolio: read-only.")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("+49 30 1234567")
    text = page.locator("main").inner_text()
    for money in ("98765", "98,765", "Wallet"):
        assert money not in text
    expect(page.get_by_role("link", name="Edit profile")).to_have_count(0)
    expect(page.get_by_role("link", name="Log an interaction")).to_have_count(0)
    shot(page, "search-card")
    assert page.url.endswith(f"/customers/{anna.pk}/card/")

    # A page with its own "/" keeps it: the support queue's "/" goes to its filters
    page.goto("/interactions/queue/")
    page.locator("h1").click()
    page.keyboard.press("/")
    expect(page.locator(".filters select").first).to_be_focused()
    expect(box).not_to_be_focused()

    # On a tablet the top bar's box fits without scrolling sideways
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto("/search/?q=keller")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, f"the search page scrolls sideways on a tablet ({width}px)"
    shot(page, "search-results-tablet")
