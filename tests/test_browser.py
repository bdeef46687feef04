"""A real Chromium (Debian's package) driven by Playwright against the live app.

Screenshots land in test-artifacts/ so that a person can look at what each role sees.
"""

import pytest
from playwright.sync_api import expect

from interactions.models import Interaction

from .browser import shot, sign_in
from .factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
    # Support staff land on the queue (issue 19) and find customers from the navigation.
    expect(page.get_by_role("heading", name="Support queue")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).not_to_contain_text("My portfolio")
    nav.get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("My portfolio")
    page.get_by_label("Search", exact=True).fill("anna")  # not the top bar's box
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
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_contain_text("Offerings")
    expect(nav).to_contain_text("Administration")
    shot(page, "admin-home")
    nav.get_by_role("link", name="Offerings").click()
    expect(page).to_have_title("Select offering to change | Learning CRM administration")
    # The admin in the app's look, with a way back
    expect(page.get_by_role("link", name="Back to the app")).to_be_visible()
    shot(page, "admin-offerings")


def test_signing_out_returns_to_the_login_page(page, charlie):
    sign_in(page, "charlie")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/customers/")
    expect(page).to_have_url("/accounts/login/?next=/customers/")
