import numpy as np
import pandas as pd
import pytest

from valuation.numerics import bgnbd, clv, tiers
from valuation.numerics.bgnbd import BgNbdParams
from valuation.numerics.gamma_gamma import GammaGammaParams
from valuation.numerics.simulate import simulate_bgnbd, simulate_spend

PARAMS = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


def test_it_discounts_monthly_at_the_annual_rate():
    factors = clv.monthly_discount_factors(24, 0.10)

    assert factors.shape == (24,)
    assert factors[0] == pytest.approx(1.1 ** (-1 / 12), rel=1e-15)
    assert factors[11] == pytest.approx(1 / 1.1, rel=1e-15)
    assert factors[23] == pytest.approx(1 / 1.21, rel=1e-15)


def test_it_sums_discounted_monthly_increments_of_expected_transactions():
    # given two customers and a margin per transaction each
    x, t_x, T = np.array([0.0, 5.0]), np.array([0.0, 30.0]), np.array([20.0, 38.0])
    margin = np.array([12.0, 20.0])
    per_month = 30.4375 / 7

    value = clv.predicted_clv(PARAMS, x, t_x, T, margin, horizon_months=12)

    expected = np.zeros(2)
    for month in range(1, 13):
        increment = bgnbd.expected_transactions(
            PARAMS, month * per_month, x, t_x, T
        ) - bgnbd.expected_transactions(PARAMS, (month - 1) * per_month, x, t_x, T)
        expected += increment * margin / 1.1 ** (month / 12)
    np.testing.assert_allclose(value, expected, rtol=1e-13)
    assert value[1] > value[0] > 0


def test_it_gives_one_customer_a_scalar_clv():
    value = clv.predicted_clv(PARAMS, 5.0, 30.0, 38.0, 20.0)

    assert value.shape == ()
    assert float(value) == clv.predicted_clv(PARAMS, [5.0], [30.0], [38.0], [20.0])[0]


def test_it_stays_finite_for_a_huge_frequency():
    value = clv.predicted_clv(PARAMS, [5000.0], [5199.0], [5200.0], [10.0])

    # about 0.96 purchases a week for 36 months at 10 each, discounted: below 36 * 4.35 * 9.6
    assert np.isfinite(value[0])
    assert 1000.0 < value[0] < 36 * (30.4375 / 7) * 0.962 * 10.0


def test_it_scales_cost_to_serve_by_p_alive_and_discounting():
    cost = clv.expected_cost_to_serve(
        [120.0, 120.0], [1.0, 0.5], horizon_months=12, annual_discount_rate=0.0
    )

    np.testing.assert_allclose(cost, [120.0, 60.0], rtol=1e-15)


def test_it_makes_clv_negative_when_cost_to_serve_exceeds_expected_margin():
    # given a customer who buys rarely at a thin margin but calls the helpdesk a lot
    x, t_x, T = np.array([1.0, 6.0]), np.array([5.0, 37.0]), np.array([38.0, 38.0])
    alive = bgnbd.p_alive(PARAMS, x, t_x, T)
    gross = clv.predicted_clv(PARAMS, x, t_x, T, np.array([2.0, 50.0]))
    cost = clv.expected_cost_to_serve(np.array([600.0, 10.0]), alive, horizon_months=36)

    net = gross - cost

    assert net[0] < 0 < net[1]
    assert tiers.assign_tiers(net, np.array([np.nan, np.nan]), np.inf, np.inf).tolist() == [
        "below_zero",
        "maintain",
    ]


def test_it_caps_share_of_customer_and_leaves_unknown_wallets_empty():
    share = clv.share_of_customer(
        np.array([500.0, 3000.0, 100.0, 100.0]), np.array([1000.0, 2000.0, np.nan, 0.0])
    )

    assert share[:2].tolist() == [0.5, 1.0]
    assert np.isnan(share[2]) and np.isnan(share[3])


def test_it_values_growth_at_target_share_less_predicted_clv_and_not_below_zero():
    # given wallets 12,000 and 1,200 a year, one unknown, a 25 % margin, target share 60 %
    wallet = np.array([12_000.0, 1_200.0, np.nan])
    alive = np.array([1.0, 1.0, 1.0])
    current = np.array([1_000.0, 5_000.0, 0.0])

    growth = clv.growth_potential(
        wallet, 0.6, 0.25, alive, current, horizon_months=12, annual_discount_rate=0.0
    )

    assert growth[0] == pytest.approx(12_000 * 0.6 * 0.25 - 1_000, rel=1e-14)
    assert growth[1] == 0.0
    assert np.isnan(growth[2])


def test_it_falls_back_to_the_historic_rate_with_a_recency_based_p_alive():
    # given 4 repeat purchases in 40 weeks, the last 10 weeks ago; and a customer with none
    estimate = clv.simple_clv_estimate(
        [4.0, 0.0],
        [30.0, 0.0],
        [40.0, 20.0],
        [10.0, 10.0],
        horizon_months=12,
        annual_discount_rate=0.0,
        time_units_per_month=4.0,
    )

    rate = 4.0 / 40.0
    pooled = 4.0 / 60.0
    alive = np.array([np.exp(-rate * 10.0), np.exp(-pooled * 20.0)])
    np.testing.assert_allclose(estimate.p_alive, alive, rtol=1e-15)
    np.testing.assert_allclose(
        estimate.expected_transactions, np.array([rate, pooled]) * alive * 48.0, rtol=1e-15
    )
    np.testing.assert_allclose(estimate.clv, estimate.expected_transactions * 10.0, rtol=1e-14)


def test_it_falls_back_for_a_single_customer_without_repeat_purchase():
    estimate = clv.simple_clv_estimate([0.0], [0.0], [3.0], [25.0])

    assert estimate.p_alive.tolist() == [1.0]
    assert estimate.expected_transactions.tolist() == [0.0]
    assert estimate.clv.tolist() == [0.0]


@pytest.mark.oracle
def test_it_agrees_with_lifetimes_customer_lifetime_value(lifetimes):
    # given seeded customers and the lifetimes fitters at the same parameters
    rng = np.random.default_rng(7)
    x, t_x, T = simulate_bgnbd(PARAMS, rng.integers(7, 52 * 7, size=500) / 7.0, rng=rng)
    m = simulate_spend(GammaGammaParams(6.25, 3.74, 15.44), x, rng=rng)
    bg = lifetimes.BetaGeoFitter()
    bg.params_ = pd.Series({"r": PARAMS.r, "alpha": PARAMS.alpha, "a": PARAMS.a, "b": PARAMS.b})
    bg.predict = bg.conditional_expected_number_of_purchases_up_to_time
    gg = lifetimes.GammaGammaFitter()
    gg.params_ = pd.Series({"p": 6.25, "q": 3.74, "v": 15.44})
    spend = gg.conditional_expected_average_profit(x, m)

    # when lifetimes discounts 12 months at 1 % a month with 4.345 weeks a month
    theirs = gg.customer_lifetime_value(
        bg,
        pd.Series(x),
        pd.Series(t_x),
        pd.Series(T),
        pd.Series(m),
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    mine = clv.predicted_clv(
        PARAMS,
        x,
        t_x,
        T,
        spend,
        horizon_months=12,
        annual_discount_rate=1.01**12 - 1,
        time_units_per_month=4.345,
    )

    # then
    np.testing.assert_allclose(mine, theirs.to_numpy(), rtol=1e-9)
