"""A customer with no purchase yet: the conversion rate and the value of a newcomer."""

import numpy as np
import pytest

from valuation.numerics import bgnbd, clv, prospects, tiers


def test_it_measures_conversion_when_enough_were_seen():
    conversion = prospects.conversion_rate(40, 10, min_prospects=30)
    assert conversion == prospects.Conversion(0.25, 40, 10, True)


def test_it_assumes_the_documented_rate_below_the_minimum():
    conversion = prospects.conversion_rate(12, 12, min_prospects=30)
    assert (conversion.rate, conversion.observed) == (prospects.ASSUMED_CONVERSION, False)
    assert (conversion.seen, conversion.converted) == (12, 12)
    assert prospects.conversion_rate(0, 0).rate == prospects.ASSUMED_CONVERSION


def test_after_a_window_without_purchase_it_measures_or_halves_the_rate():
    first = prospects.conversion_rate(100, 40)
    assert prospects.late_conversion_rate(50, 5, first).rate == pytest.approx(0.1)
    assumed = prospects.late_conversion_rate(3, 1, first)
    assert not assumed.observed
    assert assumed.rate == pytest.approx(0.4 * prospects.ASSUMED_LATE_FACTOR)


@pytest.mark.parametrize("seen, converted", [(5, 6), (-1, 0), (3, -1)])
def test_it_refuses_impossible_counts(seen, converted):
    with pytest.raises(ValueError):
        prospects.conversion_rate(seen, converted)


def test_a_newcomer_who_never_repeats_is_worth_the_first_purchase():
    assert prospects.new_customer_value(np.zeros(37), 12.5) == 12.5


def test_it_discounts_the_repeat_purchases_monthly():
    # One repeat purchase a month for two months at 10 % a year.
    value = prospects.new_customer_value([0, 1, 2], 10.0, annual_discount_rate=0.10)
    assert value == pytest.approx(10 * (1 + 1.1 ** (-1 / 12) + 1.1 ** (-2 / 12)), rel=1e-12)


def test_a_newcomer_is_worth_a_first_purchase_plus_the_clv_of_a_customer_just_born():
    # Given the CDNOW parameters: the unconditional expectation of a new customer is the
    # conditional one at x = t_x = T = 0, so the value is the first purchase plus that CLV.
    params = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    weeks = np.arange(37) * clv.WEEKS_PER_MONTH
    value = prospects.new_customer_value(
        bgnbd.expected_transactions_new_customer(params, weeks), 20.0
    )
    born = clv.predicted_clv(params, 0.0, 0.0, 0.0, 20.0, horizon_months=36)
    assert value == pytest.approx(20.0 + float(born), rel=1e-10)


def test_the_prospect_value_is_the_conversion_rate_times_the_newcomer_value():
    conversion = prospects.conversion_rate(100, 20)
    assert prospects.prospect_value(conversion, 50.0) == pytest.approx(10.0)


def test_a_customer_with_no_purchase_is_new_whatever_their_value():
    tier = tiers.assign_tiers(
        [-50.0, -50.0, 500.0, 10.0], [0.0, 0.0, 0.0, 900.0], 100.0, 100.0,
        new=[True, False, True, True],
    )  # fmt: skip
    assert tier.tolist() == ["new", "below_zero", "new", "new"]
    assert tiers.RECOMMENDATION["new"] == "develop"
