"""The keep / grow / shed map's scale, zoom and search (issue 19), and the scorecards
measured from the first recorded day."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from workspace.selectors.portfolio import map_is_skewed
from workspace.selectors.scorecards import manager_scorecards, scorecard_period

from .browser import sign_in
from .factories import CustomerFactory
from .workspace_helpers import figures, snapshot

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


def test_it_measures_a_period_from_the_first_recorded_day_when_it_starts_before(client, ada, alice):
    # Given snapshots recorded from 10 days ago only: a customer worth 100 then 400 today,
    # having moved up a tier
    today = timezone.localdate()
    first = today - timedelta(days=10)
    grew = CustomerFactory(owner=alice, name="Grew")
    snapshot(grew, first, predicted_clv=Decimal("100"), tier="maintain")
    snapshot(grew, today, predicted_clv=Decimal("400"), tier="mvc")

    # When the admin asks for the last 30 days
    period = scorecard_period(start=today - timedelta(days=30), end=today)

    # Then the period is measured from the first recorded day, so the start equity and the
    # tier move are there (not 0 and the whole equity as "change")
    assert period.start == first and period.from_first_recorded
    [card] = manager_scorecards(start=period.start, end=today)
    assert (card["start_equity"], card["change"], card["moved_tier"]) == (
        Decimal("100"),
        Decimal("300"),
        1,
    )

    # And the page says so, with the day in the column heading
    client.force_login(ada)
    response = client.get(
        reverse("workspace:scorecards"), {"start": str(today - timedelta(days=30))}
    )
    content = response.content.decode()
    # In the app's date style (crm/formats): "24 Nov 2026"
    shown = f"{first.day} {first:%b %Y}"
    assert f"Since {shown}, the first day with recorded figures" in content
    assert f"Equity {shown}</th>" in content
    assert response.context["cards"][0]["start_equity"] == Decimal("100")
    # The form keeps the day asked for
    assert f'name="start" value="{today - timedelta(days=30):%Y-%m-%d}"' in content


def test_it_keeps_a_period_that_starts_after_the_first_recorded_day(alice):
    today = timezone.localdate()
    customer = CustomerFactory(owner=alice)
    snapshot(customer, today - timedelta(days=60), predicted_clv=Decimal("50"))
    start = today - timedelta(days=30)

    period = scorecard_period(start=start, end=today)

    assert period.start == start and not period.from_first_recorded


def test_it_keeps_the_period_when_nothing_is_recorded_by_its_end(client, ada, alice):
    # Given no snapshot at all, and then one only after the period's end
    today = timezone.localdate()
    start, end = today - timedelta(days=30), today - timedelta(days=20)
    assert scorecard_period(start=start, end=end).start == start
    client.force_login(ada)
    assert "No figures recorded yet" in client.get(reverse("workspace:scorecards")).content.decode()
    snapshot(CustomerFactory(owner=alice), today, predicted_clv=Decimal("50"))
    assert scorecard_period(start=start, end=end).start == start
