import mpmath
import numpy as np
import pytest
from scipy.special import hyp2f1

from valuation.numerics import pareto_nbd
from valuation.numerics.bgnbd import BgNbdParams
from valuation.numerics.pareto_nbd import ParetoNbdParams
from valuation.numerics.rfm import rfm_summary
from valuation.numerics.simulate import simulate_bgnbd

# Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Table 1 (Pareto/NBD).
PUBLISHED = ParetoNbdParams(r=0.553, alpha=10.578, s=0.606, beta=11.669)
PUBLISHED_LOG_LIKELIHOOD = -9595.0
# A heavy-tailed lifetime: β a hundred times α, so the 2F1 of heavy buyers overflows when naive.
SKEWED = ParetoNbdParams(r=0.8, alpha=1.0, s=0.5, beta=100.0)


def mp_terms(params, x, t_x, T):
    """(likelihood, P(alive)) in the original form of Fader & Hardie (2005), 50 digits."""
    mpmath.mp.dps = 50
    r, alpha, s, beta = (mpmath.mpf(v) for v in (params.r, params.alpha, params.s, params.beta))
    x, t_x, T = (mpmath.mpf(v) for v in (x, t_x, T))
    A = r + s + x
    if alpha >= beta:
        big, second = alpha, s + 1
    else:
        big, second = beta, r + x
    small = min(alpha, beta)

    def term(t):
        return mpmath.hyp2f1(A, second, A + 1, (big - small) / (big + t)) / (big + t) ** A

    a0 = term(t_x) - term(T)
    alive_part = 1 / ((alpha + T) ** (r + x) * (beta + T) ** s)
    likelihood = (
        mpmath.gamma(r + x) * alpha**r * beta**s / mpmath.gamma(r) * (alive_part + s / A * a0)
    )
    p_alive = 1 / (1 + s / A * (alpha + T) ** (r + x) * (beta + T) ** s * a0)
    return likelihood, p_alive


def test_it_reproduces_fader_hardie_lee_2005_on_the_cdnow_sample(cdnow_calibration):
    s = cdnow_calibration

    result = pareto_nbd.fit(s.frequency, s.recency, s.T)

    assert result.converged
    assert result.customers == 2357
    for name in ("r", "alpha", "s", "beta"):
        assert round(getattr(result.params, name), 3) == getattr(PUBLISHED, name)
    assert round(result.log_likelihood, 1) == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, abs=0.05)


def test_it_counts_compressed_rows_with_their_weights(cdnow_calibration):
    s = cdnow_calibration
    rows, counts = np.unique(
        np.column_stack([s.frequency, s.recency, s.T]), axis=0, return_counts=True
    )

    total = pareto_nbd.log_likelihood(PUBLISHED, s.frequency, s.recency, s.T)
    weighted = pareto_nbd.log_likelihood(PUBLISHED, *rows.T, counts)

    assert weighted == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize("point", [[0.55, 10.0, 0.6, 11.0], [0.55, 12.0, 0.6, 11.0]])
def test_it_has_a_gradient_equal_to_finite_differences(cdnow_calibration, point):
    # on both sides of α = β, where the closed form switches branch
    s = cdnow_calibration
    point = np.array(point)
    data = pareto_nbd._prepare(s.frequency, s.recency, s.T)

    value, gradient = pareto_nbd._value_and_gradient(point, data)

    assert value * 2357 == pytest.approx(
        pareto_nbd.log_likelihood(ParetoNbdParams(*point), s.frequency, s.recency, s.T),
        rel=1e-13,
    )
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-5 * point[i]
        up, _ = pareto_nbd._value_and_gradient(point + step, data)
        down, _ = pareto_nbd._value_and_gradient(point - step, data)
        assert gradient[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize(
    ("params", "x", "t_x", "T"),
    [
        (PUBLISHED, 0, 0, 30),
        (PUBLISHED, 2, 30.43, 38.86),
        (PUBLISHED, 5000, 5199, 5200),
        (PUBLISHED, 5000, 2600, 5200),
        (SKEWED, 0, 0, 78),
        (SKEWED, 500, 70, 78),
        (SKEWED, 5000, 20, 5200),
        (ParetoNbdParams(0.5, 7.0, 0.7, 7.0), 3, 10, 20),  # α = β: the series is 1
    ],
)
def test_it_agrees_with_50_digit_arithmetic(params, x, t_x, T):
    likelihood, alive = mp_terms(params, x, t_x, T)

    mine = pareto_nbd.log_likelihood(params, x, t_x, T)
    mine_alive = float(pareto_nbd.p_alive(params, x, t_x, T))

    assert mine == pytest.approx(float(mpmath.log(likelihood)), rel=1e-10)
    assert mine_alive == pytest.approx(float(alive), rel=1e-9)


def test_it_stays_finite_where_the_naive_hypergeometric_term_overflows():
    x, t_x, T = 5000.0, 20.0, 5200.0
    p = SKEWED
    A = p.r + p.s + x
    naive = hyp2f1(A, p.r + x, A + 1, (p.beta - p.alpha) / (p.beta + t_x))

    mine = pareto_nbd.log_likelihood(SKEWED, x, t_x, T)

    assert not np.isfinite(naive)
    assert mine == pytest.approx(float(mpmath.log(mp_terms(p, x, t_x, T)[0])), rel=1e-10)


def test_it_does_not_call_a_customer_without_repeat_purchase_certainly_alive():
    alive = pareto_nbd.p_alive(PUBLISHED, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 20.0, 100.0])

    assert np.all(alive < 1.0)
    assert alive[0] > alive[1] > alive[2] > 0.0


def test_it_gives_conditional_and_unconditional_expectations_in_closed_form():
    p = PUBLISHED
    x, t_x, T, t = 2.0, 30.43, 38.86, 39.0
    _, alive = mp_terms(p, x, t_x, T)
    mpmath.mp.dps = 30
    expected = (
        (p.r + x)
        * (p.beta + T)
        / ((p.alpha + T) * (p.s - 1))
        * (1 - ((p.beta + T) / (p.beta + T + t)) ** (p.s - 1))
        * alive
    )
    new = p.r * p.beta / (p.alpha * (p.s - 1)) * (1 - (p.beta / (p.beta + t)) ** (p.s - 1))

    assert float(pareto_nbd.expected_transactions(p, t, x, t_x, T)) == pytest.approx(
        float(expected), rel=1e-10
    )
    assert float(pareto_nbd.expected_transactions_new_customer(p, t)) == pytest.approx(
        new, rel=1e-12
    )
    # s = 1: the limit ln((β+T+t)/(β+T)) of [1 - ((β+T)/(β+T+t))^(s-1)]/(s-1)
    at_one = ParetoNbdParams(p.r, p.alpha, 1.0, p.beta)
    near = ParetoNbdParams(p.r, p.alpha, 1.0 + 1e-7, p.beta)
    assert float(pareto_nbd.expected_transactions_new_customer(at_one, t)) == pytest.approx(
        float(pareto_nbd.expected_transactions_new_customer(near, t)), rel=1e-6
    )


@pytest.mark.oracle
def test_it_agrees_with_lifetimes_on_generated_customers(lifetimes):
    # given 2,000 seeded customers observed 1-78 weeks on a day grid
    rng = np.random.default_rng(6)
    ages = rng.integers(7, 78 * 7, size=2000) / 7.0
    x, t_x, T = simulate_bgnbd(
        BgNbdParams(r=0.8, alpha=6.0, a=1.4, b=4.0), ages, rng=rng, day_grid=1 / 7
    )

    # when both fit
    mine = pareto_nbd.fit(x, t_x, T)
    oracle = lifetimes.ParetoNBDFitter().fit(x, t_x, T)
    theirs = ParetoNbdParams(*oracle.params_[["r", "alpha", "s", "beta"]].to_numpy())

    # then the same maximum (ours at least as high) and nearly the same parameters (lifetimes'
    # optimiser stops at its own tolerance)
    assert mine.converged
    their_ll = pareto_nbd.log_likelihood(theirs, x, t_x, T)
    assert mine.log_likelihood >= their_ll - 1e-9 * abs(their_ll)
    assert mine.log_likelihood == pytest.approx(their_ll, rel=1e-6)
    for name in ("r", "alpha", "s", "beta"):
        assert getattr(mine.params, name) == pytest.approx(getattr(theirs, name), rel=1e-2)

    # and, at the same parameters, the same predictions
    for horizon in (1.0, 13.0, 52.0, 156.0):
        np.testing.assert_allclose(
            pareto_nbd.expected_transactions(theirs, horizon, x, t_x, T),
            oracle.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T),
            rtol=1e-8,
        )
    np.testing.assert_allclose(
        pareto_nbd.p_alive(theirs, x, t_x, T),
        oracle.conditional_probability_alive(x, t_x, T),
        rtol=1e-8,
    )
    grid = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(
        pareto_nbd.expected_transactions_new_customer(theirs, grid),
        oracle.expected_number_of_purchases_up_to_time(grid),
        rtol=1e-10,
    )


def test_it_flags_a_fit_the_data_cannot_identify():
    result = pareto_nbd.fit([3.0], [10.0], [12.0])

    assert result.customers == 1
    assert not result.converged
    assert np.isfinite(result.log_likelihood)


def test_it_stops_at_the_rate_shape_cap_on_customers_who_all_buy_at_one_rate():
    # given a log of purchases spread uniformly over customers and days (bench_import's): one
    # rate for everyone and no drop-out, no heterogeneity for the gamma to describe, so the
    # likelihood climbs with r along r/α fixed, where 2F1 is dear (r 29,000 after a minute
    # without the cap)
    rng = np.random.default_rng(20)
    ids = rng.integers(0, 3000, size=6000)
    dates = np.datetime64("2024-01-01") + rng.integers(0, 700, size=6000).astype("timedelta64[D]")
    s = rfm_summary(ids, dates, np.zeros(6000), np.datetime64("2025-12-01"))

    result = pareto_nbd.fit(s.frequency, s.recency, s.T)

    # then the search ends below the cap (its last point there) and the fit is reported as not
    # converged
    assert not result.converged
    assert 100 < result.params.r <= pareto_nbd._MAX_R
    assert np.isfinite(result.log_likelihood)


def test_it_stops_at_the_drop_out_shape_cap_on_heavy_buyers_who_all_left_at_once(monkeypatch):
    # given heavy buyers (20 purchases each) spread uniformly over two years that ended a year
    # ago: one purchase rate and one moment of leaving for everyone, so the likelihood climbs
    # with s along s/β fixed, where 2F1 is dearest (16 s and s past 2,000 without the cap,
    # seconds a point past s = 5,000)
    rng = np.random.default_rng(20)
    ids = rng.integers(0, 300, size=6000)
    dates = np.datetime64("2024-01-01") + rng.integers(0, 700, size=6000).astype("timedelta64[D]")
    s = rfm_summary(ids, dates, np.zeros(6000), np.datetime64("2026-12-01"))
    shapes = []
    real = pareto_nbd._log_K

    def recorded(r, alpha, s_, beta, x, t):
        shapes.append(s_)
        return real(r, alpha, s_, beta, x, t)

    monkeypatch.setattr(pareto_nbd, "_log_K", recorded)

    result = pareto_nbd.fit(s.frequency, s.recency, s.T)

    # then the search ends below the cap, never evaluated past it, and the fit is reported as
    # not converged
    assert not result.converged
    assert 100 < result.params.s <= pareto_nbd._MAX_S
    assert max(shapes) <= pareto_nbd._MAX_S * (1 + 1e-4)  # the central differences' step
    assert np.isfinite(result.log_likelihood)
