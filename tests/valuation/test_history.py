"""Figures as of past dates: the trend charts, the at-risk list, the scorecards and the
portfolio's equity have a past as soon as the history is stored (seed_demo, imports,
`recompute_customers --history`)."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.roles import Role
from customers.models import FactKey, FactKind
from dataio import synthetic
from valuation import history, services
from valuation.declared import SNAPSHOT_FIGURES
from valuation.models import CustomerSnapshot, ValuationSettings
from workspace.models import PortfolioEquity
from workspace.selectors.portfolio import equity_trend
from workspace.selectors.scorecards import manager_scorecards
from workspace.selectors.todo import at_risk_customers
from workspace.selectors.trends import customer_trends

from ..factories import CustomerFactory, OfferingFactory, UserFactory
from .history import log_order

pytestmark = pytest.mark.django_db

SNAPSHOT_VALUES = [
    "customer_id",
    "taken_on",
    *SNAPSHOT_FIGURES,
]


@pytest.fixture
def manager():
    return UserFactory(username="hanna", role=Role.MANAGER)


@pytest.fixture
def base(manager):
    """120 generated customers of one manager, acquired 40 to 700 days ago, as an import
    leaves them (bulk-inserted, nothing valued yet)."""
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 20})
    offerings = [OfferingFactory(price=Decimal(price)) for price in ("24.00", "9.50", "61.00")]
    need = FactKey.objects.create(
        key="coffee", label="Coffee", kind=FactKind.NEED, category=offerings[0].category
    )
    return synthetic.base_generate(
        synthetic.VALUATION_TESTS.sized(120),
        owners=[manager.pk],
        offerings=offerings,
        seed=5,
        need_key_id=need.pk,
    ).customer_ids


def _snapshots(**filters) -> list[dict]:
    return list(
        CustomerSnapshot.objects.filter(**filters)
        .order_by("customer_id", "taken_on")
        .values(*SNAPSHOT_VALUES)
    )


def _first_day(customer_id: int) -> date:
    from customers.models import Customer

    customer = Customer.objects.get(pk=customer_id)
    return customer.acquired_on or timezone.localdate(customer.created_at)


def test_it_gives_every_chart_a_point_per_month_from_the_first_day(base, manager):
    today = timezone.localdate()
    services.valuation_rebuild_everything()

    oldest = min(base, key=_first_day)
    ends = history.month_ends(first=_first_day(oldest), today=today)
    assert len(ends) >= 20  # the base goes back nearly two years
    points = customer_trends(customer_id=oldest)
    assert [p["taken_on"] for p in points] == [*ends, today]
    assert all(p["predicted_clv"] is not None for p in points)
    # Experience needs a rating or an item answered by then: known for some customers' past.
    assert CustomerSnapshot.objects.filter(backfilled=True, experience_score__isnull=False).exists()

    trend = equity_trend(manager=manager, today_equity=Decimal("1"))
    # One point per month end since the first customer arrived, then today's.
    assert [p["day"] for p in trend] == [*ends, today]
    assert len({p["equity"] for p in trend[:-1]}) > len(ends) // 2  # it moves


def test_the_at_risk_list_and_the_scorecards_have_a_past(base, manager):
    today = timezone.localdate()
    # Without a history: one snapshot each, nobody's P(alive) has a "before", the equity a
    # year ago is nothing.
    services.valuation_fit_run(
        fit_id=services.valuation_fit_create().pk,
    )
    assert list(at_risk_customers(manager=manager)) == []
    (card,) = manager_scorecards(start=today - timedelta(days=365), end=today)
    assert card["start_equity"] == 0 and card["moved_tier"] == 0

    services.valuation_history_rebuild()

    at_risk = list(at_risk_customers(manager=manager))
    assert at_risk
    assert all(c.p_alive_before > c.p_alive_now for c in at_risk)
    (card,) = manager_scorecards(start=today - timedelta(days=365), end=today)
    assert card["start_equity"] != 0
    assert card["moved_tier"] > 0


def test_rebuilding_the_history_replaces_it(base, manager):
    services.valuation_rebuild_everything()
    before = _snapshots()
    equity = list(PortfolioEquity.objects.order_by("day").values("day", "equity", "customers"))

    days = services.valuation_history_rebuild()

    assert _snapshots() == before
    assert CustomerSnapshot.objects.filter(backfilled=True, taken_on__in=days).count() == sum(
        1 for s in before if s["taken_on"] in days
    )
    assert list(PortfolioEquity.objects.order_by("day").values("day", "equity", "customers")) == (
        equity
    )


def test_a_snapshot_taken_on_its_day_is_kept(base, manager):
    services.valuation_rebuild_everything()
    last_month_end = history.month_ends(first=date(2000, 1, 1), today=timezone.localdate())[-1]
    taken = CustomerSnapshot.objects.filter(taken_on=last_month_end).first()
    CustomerSnapshot.objects.filter(pk=taken.pk).update(
        backfilled=False, predicted_clv=Decimal("1234.56")
    )

    services.valuation_history_rebuild()

    kept = CustomerSnapshot.objects.get(customer_id=taken.customer_id, taken_on=last_month_end)
    assert (kept.pk, kept.predicted_clv, kept.backfilled) == (taken.pk, Decimal("1234.56"), False)


def test_past_figures_use_only_what_was_known_then(base, manager):
    today = timezone.localdate()
    offering = OfferingFactory()
    late = CustomerFactory(owner=manager, acquired_on=today - timedelta(days=300))
    for days_ago in (150, 120, 95):
        log_order(late, offering, days_ago=days_ago, price="80.00", cost="30.00")
    first_order = today - timedelta(days=150)
    services.valuation_rebuild_everything()

    past = _snapshots(customer_id=late.pk, backfilled=True)
    assert [s["taken_on"] for s in past] == history.month_ends(
        first=today - timedelta(days=300), today=today
    )
    before, after = (
        [s for s in past if s["taken_on"] < first_order],
        [s for s in past if s["taken_on"] >= first_order],
    )
    assert before and after
    # Before the first purchase: no value yet, nobody to be alive in the purchase model.
    assert all(s["historic_value"] == 0 and s["p_alive"] is None for s in before)
    assert all(s["predicted_clv"] <= 0 for s in before)
    assert all(s["historic_value"] > 0 and s["p_alive"] is not None for s in after)
    # A month end after one order and after three: the history up to each day only.
    assert after[0]["historic_value"] == Decimal("50.00")
    three = [s for s in after if s["taken_on"] >= today - timedelta(days=95)]
    assert three and all(s["historic_value"] == Decimal("150.00") for s in three)

    # What happens later changes no earlier month end: a new order, rebuilt.
    earlier = _snapshots(backfilled=True)
    log_order(late, offering, days_ago=1, price="80.00", cost="30.00")
    services.valuation_history_rebuild()
    cutoff = today - timedelta(days=1)
    assert _snapshots(backfilled=True, taken_on__lt=cutoff) == [
        s for s in earlier if s["taken_on"] < cutoff
    ]


def test_recompute_customers_history_rebuilds_on_demand(base, manager):
    services.valuation_rebuild_everything()
    CustomerSnapshot.objects.filter(backfilled=True).delete()
    PortfolioEquity.objects.all().delete()
    out = StringIO()

    call_command("recompute_customers", "--history", stdout=out)

    days = history.month_ends(first=min(map(_first_day, base)), today=timezone.localdate())
    assert f"Rebuilt the figures as of {len(days)} month ends" in out.getvalue()
    assert (
        sorted(
            set(CustomerSnapshot.objects.filter(backfilled=True).values_list("taken_on", flat=True))
        )
        == days
    )
    assert list(PortfolioEquity.objects.order_by("day").values_list("day", flat=True)) == days


def test_month_ends():
    assert history.month_ends(first=date(2025, 11, 14), today=date(2026, 3, 31)) == [
        date(2025, 11, 30),
        date(2025, 12, 31),
        date(2026, 1, 31),
        date(2026, 2, 28),
    ]
    assert history.month_ends(first=date(2026, 3, 1), today=date(2026, 3, 31)) == []
    assert len(history.month_ends(first=date(2000, 1, 1), today=date(2026, 3, 31))) == 36


def test_a_history_as_of_an_earlier_date_ends_there(base, manager):
    until = timezone.localdate() - timedelta(days=200)

    days = services.customers_figures_history_build(until=until)

    assert days and days[-1] < until <= days[-1] + timedelta(days=31)
    assert max(CustomerSnapshot.objects.values_list("taken_on", flat=True)) == days[-1]
