"""A manager sees, in a real Chromium on the demo data, what a customer with no purchase yet is
worth and a wallet inferred from similar customers, each with its basis (issue 18)."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from customers.models import Customer

from .browser import shot
from .test_workspace_browser import context_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(roles):
    call_command("seed_demo", customers=90)


def test_it_shows_a_prospects_value_and_an_inferred_wallet_with_their_basis(
    browser, live_server, demo
):
    alices = Customer.objects.filter(owner__username="alice")
    prospect = alices.filter(figures__tier="new").first()
    inferred = (
        alices.filter(wallet_annual__isnull=True, figures__inferred_wallet__isnull=False)
        .exclude(figures__tier="new")
        .first()
    )
    assert prospect is not None and inferred is not None
    context, page = context_page(browser, live_server, 1280, 900)
    sign_in(page, "alice")

    # A prospect: tier New, to develop, a prospect value, and why
    page.goto(f"/customers/{prospect.pk}/")
    figures = page.locator("#figures")
    expect(figures.locator(".tier")).to_have_text("New")
    expect(figures).to_contain_text("Recommendation: develop")
    expect(figures.locator("[data-figure=prospect_value]")).to_contain_text("no purchase yet")
    figures.get_by_text("Why are these the figures?").click()
    why = figures.locator("[data-explain=prospect]")
    expect(why).to_be_visible()
    expect(figures).to_contain_text("Conversion rate")
    expect(figures).to_contain_text("Prospect value: conversion rate × value of a new customer")
    shot(page, "newcomer-prospect-value")

    # A customer without a stated wallet: the wallet inferred from peers, and why
    page.goto(f"/customers/{inferred.pk}/")
    expect(page.locator("[data-wallet-basis]")).to_contain_text("similar customers")
    figures = page.locator("#figures")
    expect(figures.locator("[data-figure=share_of_customer]")).to_contain_text(
        "of an inferred wallet"
    )
    expect(figures.locator("[data-figure=growth_potential]")).not_to_contain_text("unknown")
    figures.get_by_text("Why are these the figures?").click()
    expect(figures.locator("[data-explain=wallet]")).to_contain_text("th percentile")
    shot(page, "newcomer-inferred-wallet")
    context.close()
