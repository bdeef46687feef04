"""The per-interaction recompute: the figures of one customer from their running summary."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer
from dataio import synthetic
from interactions.services import interaction_log
from replenishment.models import PurchaseForecast
from valuation import services
from valuation.models import (
    CustomerFigures,
    CustomerSnapshot,
    CustomerSummary,
    FitMethod,
    ValuationSettings,
)
from valuation.numerics.purchase import PurchaseModel
from valuation.selectors import (
    channel_costs_decimal,
    customer_valuation_explained,
    customers_with_stale_figures,
)
from valuation.summary import customer_summaries_rebuild

from ..factories import CustomerFactory, OfferingFactory
from .history import log_contact, log_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def beans():
    return OfferingFactory(name="House blend", price=Decimal("24.00"))


def summary_values(customer_id):
    return CustomerSummary.objects.filter(customer_id=customer_id).values().get()


def test_it_counts_interactions_and_finds_the_last_contact():
    customer = CustomerFactory()
    log_contact(customer, days_ago=32)
    latest = log_contact(customer, days_ago=2)
    log_contact(CustomerFactory(), days_ago=1)  # someone else's

    assert services.customer_figures_recompute(customer_id=customer.pk)

    customer.refresh_from_db()
    assert customer.figures.interaction_count == 2
    assert customer.figures.last_contact_at == latest.occurred_at
    assert customer.figures.computed_at is not None
    assert customer.snapshots.count() == 1


def test_it_keeps_the_running_summary_equal_to_a_rebuild_from_scratch(beans):
    customer = CustomerFactory()
    log_order(customer, beans, days_ago=40, quantity="2", discount="0.1")
    log_order(customer, beans, days_ago=40, quantity="1")  # same day: one transaction
    log_order(customer, beans, days_ago=10, quantity="3")
    log_order(customer, beans, days_ago=90, quantity="1", price="30.00")  # back-dated first day
    log_contact(customer, days_ago=5, type="complaint")
    incremental = summary_values(customer.pk)

    customer_summaries_rebuild(customer_ids=[customer.pk], channel_costs=channel_costs_decimal())

    assert summary_values(customer.pk) == incremental
    assert incremental["cost_to_serve_total"] == Decimal("6.0000")  # one phone complaint
    assert incremental["transaction_days"] == 3
    assert incremental["first_day_revenue"] == Decimal("30.0000")
    # 2 × 24 × 0.9 + 24 + 3 × 24 + 30
    assert incremental["revenue_total"] == Decimal("169.2000")
    assert incremental["interactions"] == 5
    assert incremental["service_interactions"] == 1


def test_it_costs_the_same_queries_whatever_the_length_of_the_history(
    beans, django_assert_num_queries
):
    short, long = CustomerFactory(), CustomerFactory()
    for day in range(3):
        log_order(short, beans, days_ago=day * 7 + 1)
    for day in range(40):
        log_order(long, beans, days_ago=day * 7 + 1)
        log_contact(long, days_ago=day * 7 + 2)

    ValuationSettings.current()  # created on first use
    with CaptureQueriesContext(connection) as short_queries:
        services.customer_figures_recompute(customer_id=short.pk)
    # A small fixed number: version, settings, fit, nine input queries, the writes (figures,
    # snapshot, the purchase forecasts replaced, the figures.changed event, the next due
    # action it refreshes and the webhooks' look for endpoints that want it), and when the
    # tier moved, interactions' copy of it and the look for policies by tier.
    assert len(short_queries) <= 23
    with django_assert_num_queries(len(short_queries)):
        services.customer_figures_recompute(customer_id=long.pk)


def test_it_is_idempotent(beans):
    customer = CustomerFactory(wallet_annual=Decimal("1000"), wallet_source="stated")
    log_order(customer, beans, days_ago=100)
    log_order(customer, beans, days_ago=20)
    fields = [
        "tier",
        "predicted_clv",
        "p_alive",
        "share_of_customer",
        "historic_value",
        "growth_potential",
        "experience_score",
    ]

    services.customer_figures_recompute(customer_id=customer.pk)
    first = CustomerFigures.objects.values(*fields).get(pk=customer.pk)
    services.customer_figures_recompute(customer_id=customer.pk)

    assert CustomerFigures.objects.values(*fields).get(pk=customer.pk) == first
    assert CustomerSnapshot.objects.filter(customer=customer).count() == 1


def test_it_never_lets_an_older_recompute_overwrite_a_newer_one():
    customer = CustomerFactory()
    log_contact(customer, days_ago=1)
    CustomerFigures.objects.filter(pk=customer.pk).update(
        figures_version=5, figures_computed_version=7
    )

    assert services.customer_figures_recompute(customer_id=customer.pk) is False
    customer.refresh_from_db()
    assert customer.figures.interaction_count == 0


def test_it_ignores_a_customer_that_no_longer_exists():
    assert services.customer_figures_recompute(customer_id=987654) is False


def test_it_agrees_with_the_bulk_recompute(beans):
    customer = CustomerFactory(wallet_annual=Decimal("500"), wallet_source="estimated")
    for days in (300, 200, 120, 30):
        log_order(customer, beans, days_ago=days, quantity="2")
    log_contact(customer, days_ago=10, type="complaint")
    fields = [
        "tier",
        "predicted_clv",
        "p_alive",
        "share_of_customer",
        "historic_value",
        "growth_potential",
        "experience_score",
        "interaction_count",
        "revenue_12m",
    ]

    services.customer_figures_recompute(customer_id=customer.pk)
    single = CustomerFigures.objects.values(*fields).get(pk=customer.pk)
    services.customers_figures_recompute_all()

    assert CustomerFigures.objects.values(*fields).get(pk=customer.pk) == single


def test_it_computes_share_of_customer_only_with_a_known_wallet(beans):
    known = CustomerFactory(wallet_annual=Decimal("200"), wallet_source="stated")
    unknown = CustomerFactory()
    big_spender = CustomerFactory(wallet_annual=Decimal("10"), wallet_source="estimated")
    for customer in (known, unknown, big_spender):
        log_order(customer, beans, days_ago=30, quantity="2")  # 48.00 in the last 12 months
        log_order(customer, beans, days_ago=400, quantity="5")  # older than 12 months
        services.customer_figures_recompute(customer_id=customer.pk)

    for customer in (known, unknown, big_spender):
        customer.refresh_from_db()
    assert known.figures.share_of_customer == pytest.approx(48 / 200)
    assert known.figures.revenue_12m == Decimal("48.00")
    assert unknown.figures.share_of_customer is None
    assert unknown.figures.growth_potential is None
    assert big_spender.figures.share_of_customer == 1.0  # capped


def test_it_marks_the_figures_stale_until_they_are_recomputed(
    alice, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(owner=alice)
    with django_capture_on_commit_callbacks(execute=False):
        interaction_log(
            customer=customer,
            logged_by=alice,
            channel="phone",
            direction="inbound",
            type="inquiry",
            subject="Where is my order?",
        )
    customer.refresh_from_db()
    assert customer.figures.stale

    # A recompute that never arrived is found once it is overdue.
    assert not customers_with_stale_figures(older_than=timedelta(minutes=1)).exists()
    CustomerFigures.objects.filter(pk=customer.pk).update(
        figures_requested_at=timezone.now() - timedelta(minutes=5)
    )
    assert list(customers_with_stale_figures(older_than=timedelta(minutes=1))) == [customer]

    services.customer_figures_recompute(customer_id=customer.pk)
    customer.refresh_from_db()
    assert not customer.figures.stale


def test_it_uses_the_simple_estimate_below_the_minimum_to_fit(beans):
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 50})
    customer = CustomerFactory()
    log_order(customer, beans, days_ago=60)
    log_order(customer, beans, days_ago=30)

    fit = services.valuation_rebuild_everything()

    customer.refresh_from_db()
    assert fit.method == FitMethod.FALLBACK
    assert fit.customers == 1
    assert customer.figures.valuation_method == FitMethod.FALLBACK
    assert customer.figures.predicted_clv > 0
    assert 0 < customer.figures.p_alive <= 1


def bulk_history(offering, customers: int, seed: int) -> list:
    """Customers whose purchases follow the BG/NBD story, bulk-inserted (as an import would):
    every one buys, observed 20-100 weeks, one line of `offering` per order."""
    ids = synthetic.base_generate(
        synthetic.BUYERS_ONLY.sized(customers), owners=[None], offerings=[offering], seed=seed
    ).customer_ids
    return list(Customer.objects.filter(pk__in=ids).order_by("pk"))


def test_it_applies_the_fitted_model_in_closed_form(beans):
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 20})
    customers = bulk_history(beans, customers=150, seed=3)

    fit = services.valuation_rebuild_everything()

    assert fit.method == FitMethod.MODEL
    assert fit.customers == 150
    assert fit.bgnbd_log_likelihood < 0
    assert set(fit.candidates) == {"bgnbd", "mbgnbd", "pareto_nbd"}
    assert fit.chosen_model in fit.candidates
    one = customers[0]
    summary = CustomerSummary.objects.get(customer=one)
    today = timezone.localdate()
    x = summary.transaction_days - 1
    t_x = (summary.last_transaction_on - summary.first_transaction_on).days / 7
    T = (today - summary.first_transaction_on).days / 7
    # the chosen model's parameters, whichever it is
    model = PurchaseModel.of(fit.chosen_model, fit.candidates[fit.chosen_model]["params"])
    expected = float(model.p_alive(np.array([x]), np.array([t_x]), np.array([T]))[0])
    one.refresh_from_db()
    assert one.figures.p_alive == pytest.approx(expected, rel=1e-9)
    # The tiers are drawn across the base: the top 10 % by CLV are the most valuable.
    tiers = list(Customer.objects.values_list("figures__tier", flat=True))
    assert tiers.count("mvc") == 15
    assert set(tiers) <= {"mvc", "mgc", "maintain", "below_zero"}


def test_it_coalesces_a_burst_of_tasks_into_one_recompute(beans):
    customer = CustomerFactory()
    for days in range(10):
        log_order(customer, beans, days_ago=days + 1)  # ten tasks queued, none run yet

    ran = [services.customer_figures_recompute(customer_id=customer.pk) for _ in range(10)]

    assert ran == [True] + [False] * 9
    customer.refresh_from_db()
    assert customer.figures.interaction_count == 10
    assert not customer.figures.stale


def test_it_recomputes_when_the_wallet_changes(
    alice, beans, woken, django_capture_on_commit_callbacks
):
    from customers.services import customer_update

    customer = CustomerFactory(owner=alice)
    log_order(customer, beans, days_ago=10)
    services.customer_figures_recompute(customer_id=customer.pk)
    customer.refresh_from_db()
    assert customer.figures.share_of_customer is None

    woken.clear()
    with django_capture_on_commit_callbacks(execute=True):
        customer_update(
            customer=customer, data={"wallet_annual": Decimal("96"), "wallet_source": "stated"}
        )
    assert woken == [customer.pk]  # the wallet feeds the share of customer: recomputed
    services.customer_figures_recompute(customer_id=customer.pk)
    customer.refresh_from_db()
    assert customer.figures.share_of_customer == pytest.approx(0.25)

    with django_capture_on_commit_callbacks(execute=True):
        customer_update(customer=customer, data={"phone": "+31 20 000"})
    assert woken == [customer.pk]  # a phone number changes no figure: nothing more woken


def test_it_values_a_customer_below_zero_when_serving_costs_more_than_they_bring(beans):
    customer = CustomerFactory()
    log_order(customer, beans, days_ago=200, price="5.00", cost="4.50")
    log_order(customer, beans, days_ago=100, price="5.00", cost="4.50")
    for days in range(1, 40, 3):
        log_contact(customer, days_ago=days, type="complaint", channel="in_person")

    services.customer_figures_recompute(customer_id=customer.pk)

    customer.refresh_from_db()
    assert customer.figures.predicted_clv < 0
    assert customer.figures.historic_value < 0
    assert customer.figures.tier == "below_zero"
    assert customer.figures.recommendation == "shed or re-price"


def test_it_scores_the_experience_from_ratings_speed_and_tenure(alice, beans):
    from interactions.services import interaction_respond, offering_rating_record

    customer, other = CustomerFactory(owner=alice), CustomerFactory()
    for who in (customer, other):
        log_order(who, beans, days_ago=60)
    offering_rating_record(customer=customer, offering=beans, rating=5, recorded_by=alice)
    offering_rating_record(customer=other, offering=beans, rating=3, recorded_by=alice)
    quick = log_contact(customer, days_ago=2, type="complaint")
    interaction_respond(interaction=quick, at=quick.occurred_at + timedelta(hours=1))
    slow = log_contact(customer, days_ago=3, type="complaint")
    interaction_respond(interaction=slow, at=slow.occurred_at + timedelta(hours=30))

    explained = customer_valuation_explained(customer_id=customer.pk)
    terms = explained.intermediates
    assert terms["experience_product_quality"] == pytest.approx(1.0)  # own rating 5
    assert terms["experience_others_opinion"] == pytest.approx(0.5)  # others rate it 3
    assert explained.inputs["on_time_share"] == pytest.approx(0.5)  # 1 of 2 within 4 h
    services.customer_figures_recompute(customer_id=customer.pk)
    customer.refresh_from_db()
    mean = (1.0 + terms["experience_interactive"] + 0.5) / 3
    assert customer.figures.experience_score == pytest.approx(mean * terms["experience_tenure"])


def test_it_falls_back_when_no_one_bought_twice(beans):
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 3})
    for days in (30, 60, 90, 120):
        log_order(CustomerFactory(), beans, days_ago=days)  # one purchase each

    fit = services.valuation_rebuild_everything()

    assert fit.status == "done"
    assert fit.method == FitMethod.FALLBACK
    assert fit.customers == 4


def test_a_recompute_catches_up_on_other_waiting_customers(beans):
    waiting = [CustomerFactory() for _ in range(4)]
    for customer in waiting:
        log_order(customer, beans, days_ago=10)
        log_order(customer, beans, days_ago=3)  # tasks queued, none run yet
    first, *others = waiting

    assert services.customer_figures_recompute(customer_id=first.pk, catch_up=2) is True

    # The two longest waiting came along, in one pass; their own tasks then find them current.
    caught_up = [c for c in others if not Customer.objects.get(pk=c.pk).figures.stale]
    assert caught_up == others[:2]
    assert services.customer_figures_recompute(customer_id=others[0].pk, catch_up=2) is False
    for customer in caught_up:
        customer.refresh_from_db()
        assert customer.figures.interaction_count == 2
        assert CustomerSnapshot.objects.filter(customer=customer).count() == 1
        # Their purchase forecasts were refreshed with their figures (the to-do list reads them).
        assert PurchaseForecast.objects.filter(customer=customer, offering=beans).exists()
    # The recompute of the last one takes nobody else along: nobody else waits.
    assert services.customer_figures_recompute(customer_id=others[2].pk, catch_up=2) is True
    assert (
        not Customer.objects.filter(pk__in=[c.pk for c in waiting])
        .filter(figures__figures_computed_version__lt=F("figures__figures_version"))
        .exists()
    )


def test_catching_up_never_overwrites_a_newer_recompute(beans):
    asked, other = CustomerFactory(), CustomerFactory()
    log_order(asked, beans, days_ago=3)
    log_order(other, beans, days_ago=3)
    # Another worker wrote a newer version of the other customer's figures meanwhile.
    CustomerFigures.objects.filter(pk=other.pk).update(
        figures_version=5, figures_computed_version=7
    )

    assert services.customer_figures_recompute(customer_id=asked.pk, catch_up=5) is True

    other.refresh_from_db()
    assert other.figures.figures_computed_version == 7
    assert other.figures.interaction_count == 0
    assert not CustomerSnapshot.objects.filter(customer=other).exists()


def test_a_batchs_recompute_task_recomputes_its_waiting_customers_in_one_pass(beans):
    """A batch of interactions sends one task per chunk of customers (valuation.tasks
    .customers_figures_recompute_task): those waiting are written, a current one is left."""
    waiting = [CustomerFactory() for _ in range(3)]
    for customer in waiting:
        log_order(customer, beans, days_ago=5)
    current = CustomerFactory()
    log_order(current, beans, days_ago=4)
    assert services.customer_figures_recompute(customer_id=current.pk)
    version = CustomerFigures.objects.get(pk=current.pk).figures_computed_version

    written = services.customers_figures_recompute(customer_ids=[c.pk for c in [*waiting, current]])

    assert sorted(written) == sorted(c.pk for c in waiting)
    for customer in waiting:
        customer.refresh_from_db()
        assert not customer.figures.stale
        assert customer.figures.interaction_count == 1
    assert CustomerFigures.objects.get(pk=current.pk).figures_computed_version == version
    assert services.customers_figures_recompute(customer_ids=[c.pk for c in waiting]) == []
