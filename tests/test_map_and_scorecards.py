"""The keep / grow / shed map's scale, zoom and search (issue 19), and the scorecards
measured from the first recorded day."""

from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from workspace.selectors.portfolio import map_is_skewed

from .browser import sign_in
from .factories import CustomerFactory
from .workspace_helpers import figures

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("values", "skewed"),
    [
        # Most near zero, one far out: the demo's CLV
        ([0, 5, 10, 12, 20, 25, 30, 40, 50, 11000], True),
        # Evenly spread
        ([0, 100, 200, 300, 400, 500, 600, 700, 800, 900], False),
        # Outliers on both sides of a tight middle
        ([-5000, 0, 1, 2, 3, 4, 5, 6, 7, 5000], True),
        # Too few to say, and all alike
        ([0, 11000], False),
        ([7, 7, 7, 7, 7, 7], False),
    ],
)
def test_it_calls_an_axis_skewed_when_most_dots_would_crowd_into_a_corner(values, skewed):
    assert map_is_skewed([float(v) for v in values]) is skewed


def valued(owner, name, clv, growth):
    customer = CustomerFactory(owner=owner, name=name)
    figures(customer, tier="maintain", predicted_clv=Decimal(clv), growth_potential=Decimal(growth))
    return customer


def test_it_opens_a_skewed_map_on_the_log_scale_and_an_even_one_on_linear(client, alice, bob):
    # Given alice's portfolio with one outlier far out, and bob's evenly spread
    for i, clv in enumerate([0, 5, 10, 12, 20, 25, 30, 40, 50, 11000]):
        valued(alice, f"Alice {i}", clv, 100 * i)
    for i in range(10):
        valued(bob, f"Bob {i}", 100 * i, 100 * i)

    # When each opens the map
    client.force_login(alice)
    alices = client.get(reverse("workspace:map"))
    client.force_login(bob)
    bobs = client.get(reverse("workspace:map"))

    # Then alice's opens on the symlog scale, bob's on linear, both with the controls (shown
    # by the script) and the same figures as text for a browser without JavaScript
    assert alices.context["map"]["scale"] == "symlog"
    assert bobs.context["map"]["scale"] == "linear"
    content = alices.content.decode()
    assert 'data-scale="symlog"' in content
    assert 'type="search"' in content
    assert "Alice 9</a>" in content
    assert "CLV €11,000" in content


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_finds_a_customer_on_the_map_and_zooms(page, alice):
    # Given a skewed portfolio
    for i, clv in enumerate([0, -40, 10, 12, 20, 25, 30, 40, 50, 11000]):
        valued(alice, f"Customer {i:02}", clv, 100 * i)
    valued(alice, "Zephyr Outlier", 9000, 50)
    sign_in(page, "alice")
    page.goto(reverse("workspace:map"))

    # Then it opens on the log scale, ticks in real money (zero and the negative CLV shown)
    expect(page.get_by_role("button", name="Log")).to_have_attribute("aria-pressed", "true")
    ticks = page.evaluate(
        "Chart.getChart(document.querySelector('canvas')).scales.x.ticks.map(t => t.label)"
    )
    assert "0" in ticks and "-10" in ticks and "1,000" in ticks

    # When the manager searches for a name, the match is named with its figures and its
    # tooltip is shown
    page.get_by_label("Find a customer").fill("zeph")
    expect(page.locator(".map-status")).to_have_text(
        "1 customer matches: Zephyr Outlier (CLV 9,000, growth 50)."
    )
    tooltip = page.evaluate(
        "(() => { const c = Chart.getChart(document.querySelector('canvas'));"
        " return c.tooltip.getActiveElements().map(e => c.data.datasets[e.datasetIndex]"
        ".data[e.index].name); })()"
    )
    assert tooltip == ["Zephyr Outlier"]

    # When they zoom in with the button, then drag a rectangle, the axes narrow
    def x_range():
        return page.evaluate(
            "(() => { const s = Chart.getChart(document.querySelector('canvas')).scales.x;"
            " return [s.min, s.max]; })()"
        )

    full = x_range()
    page.get_by_role("button", name="Zoom in").click()
    zoomed = x_range()
    assert zoomed[1] - zoomed[0] == pytest.approx((full[1] - full[0]) / 2, rel=0.01)
    box = page.locator("canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    page.mouse.up()
    dragged = x_range()
    assert dragged[1] - dragged[0] < (zoomed[1] - zoomed[0]) / 3
    expect(page.locator(".map-status")).to_contain_text("Zoomed in")

    # And Linear shows the real values on plain axes again
    page.get_by_role("button", name="Linear").click()
    assert x_range()[1] >= 11000
