"""A real Chromium (Debian's package) driven by Playwright against the live app.

Screenshots land in test-artifacts/ so that a person can look at what each role sees.
"""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from interactions.models import Interaction

from .factories import PASSWORD, CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def orm_beside_playwright():
    # Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
    # from that thread are still plain synchronous calls. Only for this module: the deployment
    # check rightly refuses this variable anywhere else.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(scope="module")
def browser(orm_beside_playwright):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_it_rejects_a_wrong_password_and_then_signs_in(page, alice):
    page.goto("/")
    expect(page).to_have_url("/accounts/login/?next=/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("didn't match")).to_be_visible()
    shot(page, "login-error")

    sign_in(page, "alice")
    expect(page.get_by_role("heading", name="My portfolio")).to_be_visible()


def test_a_manager_works_their_portfolio_and_logs_an_interaction(page, alice, bob):
    anna = CustomerFactory(name="Anna Keller", owner=alice, preferred_channel="phone")
    CustomerFactory(name="Bruno Rossi", owner=bob)

    sign_in(page, "alice")
    expect(page.get_by_role("link", name="Anna Keller")).to_be_visible()
    expect(page.get_by_text("Bruno Rossi")).to_have_count(0)
    expect(page.locator(".role-badge")).to_have_text("Customer manager")
    shot(page, "manager-portfolio")

    page.get_by_role("link", name="Anna Keller").click()
    page.get_by_role("link", name="Log an interaction").click()
    # The form is configured by the profile: the preferred channel comes pre-selected.
    expect(page.get_by_label("Channel")).to_have_value("phone")
    page.get_by_label("Type").select_option("complaint")
    page.get_by_label("Subject").fill("Grinder makes a noise")
    shot(page, "manager-log-interaction")
    page.get_by_role("button", name="Save interaction").click()

    expect(page.get_by_text("Interaction saved")).to_be_visible()
    expect(page.get_by_text("Open items")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Grinder makes a noise")
    shot(page, "manager-customer-page")
    assert Interaction.objects.get(customer=anna).logged_by == alice


def test_support_staff_find_any_customer_but_see_no_money(page, charlie, alice):
    CustomerFactory(name="Anna Keller", owner=alice, wallet_annual=5000, wallet_source="stated")

    sign_in(page, "charlie")
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("My portfolio")
    page.get_by_label("Search").fill("anna")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Anna Keller").click()
    expect(page.locator("h1")).to_contain_text("Anna Keller")
    expect(page.get_by_text("Wallet (annual)")).to_have_count(0)
    expect(page.get_by_text("Predicted lifetime value")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("5,000")
    expect(page.get_by_role("link", name="Edit profile")).to_have_count(0)
    shot(page, "support-customer-page")


def test_an_admin_sees_the_configuration_menu(page, ada):
    sign_in(page, "ada")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_contain_text("Offerings")
    expect(nav).to_contain_text("Administration")
    shot(page, "admin-home")
    nav.get_by_role("link", name="Offerings").click()
    expect(page).to_have_title("Select offering to change | Django site admin")
    shot(page, "admin-offerings")


def test_signing_out_returns_to_the_login_page(page, charlie):
    sign_in(page, "charlie")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/customers/")
    expect(page).to_have_url("/accounts/login/?next=/customers/")
