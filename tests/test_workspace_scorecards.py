"""Manager scorecards (admin) and the customer page's trend charts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from workspace.selectors.scorecards import manager_scorecards

from .factories import CustomerFactory
from .workspace_helpers import snapshot

pytestmark = pytest.mark.django_db


def test_it_scores_each_portfolio_over_the_period(alice, bob):
    today = timezone.localdate()
    start = today - timedelta(days=30)
    # Given alice's customers: one grew and moved up a tier, one was acquired in the period,
    # one lapsed in the period, one moved to bob in the period
    grew = CustomerFactory(owner=alice, name="Grew")
    snapshot(grew, start - timedelta(days=3), predicted_clv=Decimal("100"), tier="maintain")
    snapshot(grew, today, predicted_clv=Decimal("400"), tier="mvc")
    new = CustomerFactory(owner=alice, name="New", acquired_on=today - timedelta(days=2))
    snapshot(new, today, predicted_clv=Decimal("50"), tier="maintain")
    lapsed = CustomerFactory(owner=alice, name="Lapsed")
    snapshot(lapsed, start, predicted_clv=Decimal("30"), tier="maintain")
    snapshot(lapsed, today, predicted_clv=Decimal("10"), tier="maintain")
    lapsed.status = "lapsed"
    lapsed.save()
    moved = CustomerFactory(owner=alice, name="Moved")
    moved.owner = bob
    moved.save()

    cards = {c["manager"].username: c for c in manager_scorecards(start=start, end=today)}

    assert cards["alice"]["start_equity"] == Decimal("130")
    assert cards["alice"]["end_equity"] == Decimal("460")
    assert cards["alice"]["change"] == Decimal("330")
    assert cards["alice"]["gained"] == 1
    assert cards["alice"]["lost"] == 2  # lapsed, and moved to bob
    assert cards["alice"]["moved_tier"] == 1
    assert cards["bob"]["customers"] == 1 and cards["bob"]["lost"] == 0


def test_it_shows_scorecards_to_admins_only_and_names_a_bad_date(client, ada, alice):
    client.force_login(alice)
    assert client.get(reverse("workspace:scorecards")).status_code == 403
    client.force_login(ada)
    response = client.get(reverse("workspace:scorecards"), {"start": "last week"})
    assert response.status_code == 400
    assert "start: &#x27;last week&#x27; is not a date (YYYY-MM-DD)." in response.content.decode()


def test_it_charts_the_customers_figures_and_hides_money_from_support(client, alice, charlie):
    today = timezone.localdate()
    customer = CustomerFactory(owner=alice)
    snapshot(customer, today - timedelta(days=1), predicted_clv=Decimal("90"), p_alive=0.8)
    snapshot(customer, today, predicted_clv=Decimal("120"), p_alive=0.7, experience_score=4.0)

    client.force_login(alice)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'data-field="clv"' in page and 'data-field="p_alive"' in page
    assert '"clv": 120.0' in page

    client.force_login(charlie)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'data-field="p_alive"' in page and 'data-field="experience"' in page
    assert 'data-field="clv"' not in page and 'data-field="soc"' not in page
    assert '"clv"' not in page and '"soc"' not in page
