"""Customers their own purchases cannot value: a prospect with no purchase yet (tier new,
valued by the firm's own conversion rate) and a customer with no wallet on record (wallet
inferred from similar customers). Through the real fit and recompute."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers.facts import customer_fact_record
from customers.models import Customer
from valuation import services
from valuation.models import FitMethod, ValuationSettings
from valuation.numerics import prospects
from valuation.selectors import customer_valuation_explained

from ..factories import CustomerFactory, OfferingFactory
from .history import log_contact, log_order
from .test_recompute import bulk_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def beans():
    return OfferingFactory(name="House blend", price=Decimal("24.00"))


def conversion_by_hand(as_of):
    """Of the prospects (customers with no purchase when first seen) first seen a year or more
    before `as_of`, those who bought within a year of being first seen; of those first seen two
    years or more before who had not, those who bought in the second year: one by one."""
    window = timedelta(days=prospects.CONVERSION_WINDOW_DAYS)
    seen = converted = late_seen = late_converted = 0
    for customer in Customer.objects.select_related("summary"):
        first_seen = customer.acquired_on or timezone.localdate(customer.created_at)
        first = getattr(getattr(customer, "summary", None), "first_transaction_on", None)
        if first_seen > as_of - window or (first is not None and first <= first_seen):
            continue
        seen += 1
        in_first = first is not None and first <= first_seen + window
        converted += in_first
        if first_seen <= as_of - 2 * window and not in_first:
            late_seen += 1
            late_converted += first is not None and first <= first_seen + 2 * window
    return seen, converted, late_seen, late_converted


def test_a_prospect_after_one_email_is_new_and_worth_their_prospect_value(beans):
    # Given a base that fits the model, and forty leads of two years ago: ten bought within
    # the year, three in the second year, the others never
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 20})
    bulk_history(beans, customers=150, seed=3)
    two_years_ago = timezone.localdate() - timedelta(days=730)
    leads = [CustomerFactory(status="prospect", acquired_on=two_years_ago) for _ in range(40)]
    for n, lead in enumerate(leads[:13]):
        log_order(lead, beans, days_ago=630 if n < 10 else 200)
    fit = services.valuation_rebuild_everything()
    priors = fit.priors
    # When a new prospect writes one email and is recomputed
    prospect = CustomerFactory(status="prospect")
    log_contact(prospect, days_ago=0.1, channel="email")
    services.customer_figures_recompute(customer_id=prospect.pk)

    # Then the fit measured the conversion rate in the firm's own data
    assert fit.method == FitMethod.MODEL
    seen, converted, late_seen, late_converted = conversion_by_hand(fit.as_of)
    assert (priors.prospects_seen, priors.prospects_converted) == (seen, converted)
    assert (priors.late_prospects_seen, priors.late_prospects_converted) == (
        late_seen,
        late_converted,
    )
    assert late_seen >= 30 and late_converted >= 3 and priors.late_conversion_observed
    assert priors.late_conversion_rate == pytest.approx(late_converted / late_seen)
    assert priors.late_prospect_value < priors.prospect_value
    assert priors.conversion_observed and priors.conversion_rate == pytest.approx(converted / seen)
    assert converted >= 10 and seen >= 40
    assert priors.prospect_value == pytest.approx(
        priors.conversion_rate * priors.new_customer_value
    )
    # and the prospect is new, to be developed, worth that prospect value: never shed
    prospect.refresh_from_db()
    figures = prospect.figures
    assert (figures.tier, figures.recommendation) == ("new", "develop")
    assert figures.prospect_value > 0
    assert figures.prospect_value == Decimal(repr(priors.prospect_value)).quantize(Decimal("0.01"))
    assert figures.predicted_clv <= figures.prospect_value
    assert figures.p_alive is None
    # while a lead who let two years pass without buying is worth the late rate's value
    stale = Customer.objects.get(pk=leads[-1].pk)
    assert stale.figures.tier == "new"
    assert stale.figures.prospect_value == Decimal(repr(priors.late_prospect_value)).quantize(
        Decimal("0.01")
    )
    # and nobody who bought is new, nor any prospect ranked
    tiers = dict(Customer.objects.values_list("pk", "figures__tier"))
    bought = set(
        Customer.objects.filter(summary__transaction_days__gt=0).values_list("pk", flat=True)
    )
    assert {tiers[pk] for pk in bought} <= {"mvc", "mgc", "maintain", "below_zero"}
    assert {tier for pk, tier in tiers.items() if pk not in bought} == {"new"}
    # and the page's "why" has the basis
    explained = customer_valuation_explained(customer_id=prospect.pk)
    assert explained.intermediates["new"] is True
    assert explained.priors.conversion_rate == priors.conversion_rate


def test_a_prospect_is_new_under_the_simple_estimate_too(beans):
    # Given too few buyers to fit (the simple estimate) and too few leads to measure
    for days in (300, 200, 100):
        buyer = CustomerFactory()
        log_order(buyer, beans, days_ago=days)
        log_order(buyer, beans, days_ago=days - 50)
    prospect = CustomerFactory(status="prospect")
    for _ in range(3):  # several costly contacts: still not shed
        log_contact(prospect, days_ago=1, channel="in_person", type="complaint")

    fit = services.valuation_rebuild_everything()

    prospect.refresh_from_db()
    assert fit.method == FitMethod.FALLBACK
    assert not fit.priors.conversion_observed
    assert fit.priors.conversion_rate == prospects.ASSUMED_CONVERSION
    assert prospect.figures.tier == "new"
    assert prospect.figures.prospect_value > 0


def organizations_with_wallets(beans, wallets):
    peers = []
    for wallet in wallets:
        peer = CustomerFactory(
            kind="organization", wallet_annual=Decimal(wallet), wallet_source="stated"
        )
        log_order(peer, beans, days_ago=20)
        peers.append(peer)
    return peers


def test_a_customer_without_a_wallet_gets_the_wallet_of_similar_customers(beans, alice):
    # Given twelve organizations with stated wallets, and one without, who buys 48.00 a year
    wallets = [1000 * n for n in range(1, 13)]
    peers = organizations_with_wallets(beans, wallets)
    unknown = CustomerFactory(kind="organization", owner=alice)
    log_order(unknown, beans, days_ago=30, quantity="2")
    # When the fit runs
    services.valuation_rebuild_everything()
    # Then the one without a wallet has the 80th percentile of theirs, with its basis
    unknown.refresh_from_db()
    figures = unknown.figures
    inferred = np.quantile(wallets, 0.8)
    assert float(figures.inferred_wallet) == pytest.approx(inferred, abs=0.01)
    assert (figures.wallet_peers, figures.wallet_quantile) == (12, 0.8)
    assert figures.wallet_peer_group == (
        "organizations · size unknown · no known needs · under 1 year"
    )
    # and share of customer and growth potential exist
    assert figures.share_of_customer == pytest.approx(48 / inferred, rel=1e-6)
    assert figures.growth_potential is not None
    # while a stated wallet is used as stated
    peers[0].refresh_from_db()
    assert peers[0].figures.inferred_wallet is None
    assert peers[0].figures.share_of_customer == pytest.approx(24 / 1000)
    # and the API says where the wallet comes from
    api = APIClient()
    api.force_authenticate(alice)
    detail = api.get(f"/api/customers/{unknown.pk}/").json()
    assert detail["wallet_source"] == "inferred" and detail["wallet_annual"] is None
    assert detail["wallet_peers"] == 12


def test_the_recompute_looks_the_peers_up_in_the_fit_and_a_stated_wallet_wins(beans, alice):
    peers = organizations_with_wallets(beans, [1000 * n for n in range(1, 13)])
    unknown = CustomerFactory(kind="organization", owner=alice)
    log_order(unknown, beans, days_ago=30)
    services.valuation_rebuild_everything()
    unknown.refresh_from_db()
    inferred = unknown.figures.inferred_wallet
    # When peers' wallets change after the fit, the next recompute keeps the fit's wallet
    Customer.objects.filter(pk__in=[p.pk for p in peers]).update(wallet_annual=Decimal("1"))
    log_order(unknown, beans, days_ago=1)
    services.customer_figures_recompute(customer_id=unknown.pk)
    unknown.refresh_from_db()
    assert unknown.figures.inferred_wallet == inferred
    # and when the customer states a wallet, it replaces the inferred one
    customer_fact_record(customer=unknown, key="wallet_annual", value="480", recorded_by=alice)
    services.customer_figures_recompute(customer_id=unknown.pk)
    unknown.refresh_from_db()
    assert unknown.figures.inferred_wallet is None
    assert (unknown.figures.wallet_peers, unknown.figures.wallet_peer_group) == (0, "")
    assert unknown.figures.share_of_customer == pytest.approx(48 / 480)
    explained = customer_valuation_explained(customer_id=unknown.pk)
    assert explained.wallet_source == "stated"


def test_the_fits_api_shows_the_priors(ada, beans):
    organizations_with_wallets(beans, [500] * 3)
    services.valuation_rebuild_everything()
    api = APIClient()
    api.force_authenticate(ada)
    fit = api.get("/api/valuation/fits/").json()["results"][0]
    assert fit["priors"]["conversion_window_days"] == prospects.CONVERSION_WINDOW_DAYS
    assert fit["priors"]["conversion_observed"] is False
    assert fit["priors"]["wallet_samples"] == 3
    assert fit["priors"]["prospect_value"] > 0
