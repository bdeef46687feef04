"""A manager works the portfolio in a real Chromium, on the demo data (issue 7 "done when")."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Customer
from dataio.demo import demo_password
from interactions.models import Interaction
from valuation.models import CustomerSnapshot
from workspace.services import offering_affinities_refresh

from .browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(roles):
    call_command("seed_demo", customers=90)
    offering_affinities_refresh()
    # Give alice's customers a day before today's snapshot (the demo's history has month
    # ends), with a higher P(alive) for the most valuable ones, so the to-do list has
    # customers at risk.
    today = timezone.localdate()
    earlier = []
    for snap in CustomerSnapshot.objects.filter(customer__owner__username="alice", taken_on=today):
        snap.pk = None
        snap.taken_on = today - timedelta(days=7)
        if snap.tier in ("mvc", "mgc") and snap.p_alive is not None:
            snap.p_alive = min(1.0, snap.p_alive + 0.2)
        earlier.append(snap)
    CustomerSnapshot.objects.bulk_create(earlier)


def context_page(browser, live_server, width, height):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}
    )
    return context, context.new_page()


def sign_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(demo_password(username))
    page.get_by_role("button", name="Sign in").click()


def test_it_lets_a_manager_work_the_portfolio_end_to_end(browser, live_server, demo):
    context, page = context_page(browser, live_server, 1280, 800)
    sign_in(page, "alice")
    page.goto("/customers/portfolio/")
    expect(page.get_by_role("heading", name="My portfolio")).to_be_visible()

    # Sort by CLV (ascending, then descending) and filter to the most valuable
    page.get_by_role("link", name="Predicted CLV").click()
    expect(page).to_have_url("/customers/portfolio/?q=&tier=&status=&need=&sort=predicted_clv")
    page.get_by_role("link", name="Predicted CLV ▲").click()
    expect(page).to_have_url("/customers/portfolio/?q=&tier=&status=&need=&sort=-predicted_clv")
    page.get_by_label("Tier").select_option("mvc")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.grid tbody tr")
    expect(rows.first.locator(".tier")).to_have_text("Most valuable")
    top = Customer.objects.filter(owner__username="alice", figures__tier="mvc").order_by(
        "-figures__predicted_clv", "id"
    )[0]
    expect(rows.first.locator("td").first.get_by_role("link")).to_have_text(top.name)
    expect(page.locator("canvas[data-chart=equity]")).to_be_visible()
    page.wait_for_timeout(300)  # let the chart paint before the screenshot
    shot(page, "workspace-portfolio")

    # The map
    page.get_by_role("link", name="Keep / grow / shed map").click()
    expect(page.locator("canvas[data-chart=map]")).to_be_visible()
    page.wait_for_timeout(300)
    shot(page, "workspace-map")

    # Open the top at-risk customer from the to-do list
    page.get_by_role("link", name="To-do list").click()
    at_risk = page.locator("#at-risk li a").first
    name = at_risk.inner_text()
    shot(page, "workspace-todo")
    at_risk.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)

    # Make the top next best offer; it is on the timeline
    top_offer = page.locator("#next-best-offerings .nbo-item").first
    offering = top_offer.locator("strong").inner_text()
    top_offer.get_by_role("button", name="Make an offer").click()
    expect(page.get_by_text(f"Offer of {offering} recorded on the timeline.")).to_be_visible()
    expect(page.locator(".timeline li").first).to_contain_text(f"Offered {offering}")
    expect(page.locator(".open-offers")).to_contain_text(offering)
    assert Interaction.objects.filter(
        customer__name=name, type="offer", offer__name=offering, logged_by__username="alice"
    ).exists()
    page.wait_for_timeout(300)
    shot(page, "workspace-customer")
    context.close()

    # The same pages on a tablet
    context, page = context_page(browser, live_server, 768, 1024)
    sign_in(page, "alice")
    for url, name in [
        ("/customers/portfolio/", "portfolio"),
        ("/workspace/todo/", "todo"),
        ("/workspace/map/", "map"),
    ]:
        page.goto(url)
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 768, f"{url} scrolls sideways on a tablet ({width}px)"
        shot(page, f"workspace-{name}-tablet")
    context.close()


def test_it_shows_the_admin_the_scorecards(browser, live_server, demo):
    context, page = context_page(browser, live_server, 1280, 800)
    sign_in(page, "admin")
    page.get_by_role("link", name="Scorecards").click()
    expect(page.locator("tr[data-manager=alice]")).to_be_visible()
    shot(page, "workspace-scorecards")
    context.close()
