"""An admin checks the purchase models before trusting the figures, in a real Chromium
(issue 18: "the model page renders in a browser test with its charts")."""

import pytest
from playwright.sync_api import expect

from valuation import services
from valuation.models import ValuationSettings

from .browser import shot, sign_in
from .valuation.history import generated_base

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fitted(roles):
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 20})
    generated_base(customers=300, seed=11)
    return services.valuation_rebuild_everything()


def drawn(page, chart: str) -> int:
    """How many datasets Chart.js drew on the page's chart (0: not drawn)."""
    return page.evaluate(
        """(name) => {
            const canvas = document.querySelector(`canvas[data-chart=${name}]`);
            const chart = canvas && window.Chart && Chart.getChart(canvas);
            return chart ? chart.data.datasets.length : 0;
        }""",
        chart,
    )


def test_it_shows_the_admin_each_model_and_its_holdout_check(page, ada, fitted):
    sign_in(page, "ada")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()

    expect(page.get_by_role("heading", name="Purchase models")).to_be_visible()
    rows = page.locator("#candidates tbody tr")
    expect(rows).to_have_count(3)
    chosen = page.locator("#candidates tr.chosen")
    expect(chosen).to_have_attribute("data-model", fitted.chosen_model)
    expect(page.locator("#holdout-actual")).to_have_text(f"{fitted.holdout['actual']:.0f}")
    expect(page.locator("#gamma-gamma")).to_contain_text("Gamma-Gamma")
    expect(page.locator("#by-frequency tbody tr")).to_have_count(8)
    expect(page.locator("canvas[data-chart=tracking]")).to_be_visible()
    expect(page.locator("canvas[data-chart=by_frequency]")).to_be_visible()
    page.wait_for_function("() => window.Chart !== undefined")
    # actual and the three models, in both charts
    assert drawn(page, "tracking") == 4
    assert drawn(page, "by_frequency") == 4
    page.wait_for_timeout(300)  # let the charts paint before the screenshot
    shot(page, "admin-purchase-models")
