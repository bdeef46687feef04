import mpmath
import numpy as np
import pytest

from valuation.numerics import mbgnbd
from valuation.numerics.bgnbd import BgNbdParams
from valuation.numerics.mbgnbd import MbgNbdParams
from valuation.numerics.simulate import simulate_bgnbd

# Batislam, Denizel & Filiztekin (2007) on CDNOW, as reproduced by BTYDplus (mbgcnbd, k = 1).
PUBLISHED = MbgNbdParams(r=0.525, alpha=6.183, a=0.891, b=1.614)


def mp_expected_transactions(params, t, x, t_x, T):
    """Batislam et al. (2007) eq. 9 in its original form, in 50-digit arithmetic."""
    mpmath.mp.dps = 50
    r, alpha, a, b = (mpmath.mpf(v) for v in (params.r, params.alpha, params.a, params.b))
    x, t_x, T, t = (mpmath.mpf(v) for v in (x, t_x, T, t))
    z = t / (alpha + T + t)
    hyp = mpmath.hyp2f1(r + x, b + x + 1, a + b + x, z)
    numerator = (a + b + x) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    odds = a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return float(numerator / (1 + odds))


def test_it_reproduces_the_published_cdnow_estimates(cdnow_calibration):
    s = cdnow_calibration

    result = mbgnbd.fit(s.frequency, s.recency, s.T)

    assert result.converged
    assert result.customers == 2357
    for name in ("r", "alpha", "a", "b"):
        assert round(getattr(result.params, name), 3) == getattr(PUBLISHED, name)
    assert result.log_likelihood == pytest.approx(
        mbgnbd.log_likelihood(result.params, s.frequency, s.recency, s.T), rel=1e-12
    )


def test_it_counts_compressed_rows_with_their_weights(cdnow_calibration):
    s = cdnow_calibration
    rows, counts = np.unique(
        np.column_stack([s.frequency, s.recency, s.T]), axis=0, return_counts=True
    )

    total = mbgnbd.log_likelihood(PUBLISHED, s.frequency, s.recency, s.T)
    weighted = mbgnbd.log_likelihood(PUBLISHED, *rows.T, counts)
    fitted = mbgnbd.fit(*rows.T, weights=counts)

    assert weighted == pytest.approx(total, rel=1e-12)
    assert round(fitted.params.r, 3) == PUBLISHED.r
    assert fitted.customers == 2357


def test_it_has_an_analytic_gradient_and_hessian_equal_to_finite_differences(cdnow_calibration):
    s = cdnow_calibration
    point = np.array([0.4, 5.0, 0.9, 2.0])
    data = mbgnbd._prepare(s.frequency, s.recency, s.T)

    value, gradient, hessian = mbgnbd._value_gradient_hessian(point, data)

    assert value * 2357 == pytest.approx(
        mbgnbd.log_likelihood(MbgNbdParams(*point), s.frequency, s.recency, s.T), rel=1e-13
    )
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * point[i]
        up, g_up, _ = mbgnbd._value_gradient_hessian(point + step, data, hessian=False)
        down, g_down, _ = mbgnbd._value_gradient_hessian(point - step, data, hessian=False)
        assert gradient[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-6, abs=1e-8)
        np.testing.assert_allclose(
            hessian[i], (g_up - g_down) / (2 * step[i]), rtol=1e-5, atol=1e-7
        )


def test_it_does_not_call_a_customer_without_repeat_purchase_certainly_alive():
    # BG/NBD gives P(alive) = 1 to all of these; MBG/NBD lets them drop out at the first purchase
    alive = mbgnbd.p_alive(PUBLISHED, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 20.0, 100.0])

    assert np.all(alive < 1.0)
    assert alive[0] > alive[1] > alive[2] > 0.0
    # just acquired: alive with probability b/(a+b)
    assert float(mbgnbd.p_alive(PUBLISHED, 0.0, 0.0, 0.0)) == pytest.approx(
        PUBLISHED.b / (PUBLISHED.a + PUBLISHED.b), rel=1e-12
    )


@pytest.mark.parametrize(
    ("x", "t_x", "T", "t"),
    [
        (0, 0, 10, 39),
        (2, 30.43, 38.86, 39),
        (20, 5, 300, 520),
        (300, 299, 300, 10_000),
        (5000, 5199, 5200, 1096),  # a daily buyer over three years: the naive 2F1 overflows
        (100_000, 99_990, 100_000, 520),
    ],
)
def test_it_agrees_with_50_digit_arithmetic(x, t_x, T, t):
    mine = float(mbgnbd.expected_transactions(PUBLISHED, t, x, t_x, T))

    assert np.isfinite(mine)
    assert mine == pytest.approx(mp_expected_transactions(PUBLISHED, t, x, t_x, T), rel=1e-9)


def test_it_keeps_p_alive_exact_where_the_naive_odds_overflow():
    x, t_x, T = 5000.0, 2600.0, 5200.0
    mpmath.mp.dps = 50
    p = PUBLISHED
    log_odds = mpmath.log(p.a / (p.b + x)) + (p.r + x) * mpmath.log(
        mpmath.mpf(p.alpha + T) / (p.alpha + t_x)
    )

    alive = mbgnbd.p_alive(PUBLISHED, x, t_x, T)

    assert float(alive) == pytest.approx(float(1 / (1 + mpmath.exp(log_odds))), rel=1e-10)


def test_it_gives_the_unconditional_expectation_in_closed_form():
    t = np.array([0.0, 1.0, 39.0, 78.0])
    p = PUBLISHED
    mpmath.mp.dps = 30

    new = mbgnbd.expected_transactions_new_customer(PUBLISHED, t)

    for got, horizon in zip(new, t, strict=True):
        z = horizon / (p.alpha + horizon)
        expected = (
            p.b
            / (p.a - 1)
            * (
                1
                - (p.alpha / (p.alpha + horizon)) ** p.r * mpmath.hyp2f1(p.r, p.b + 1, p.a + p.b, z)
            )
        )
        assert got == pytest.approx(float(expected), rel=1e-10, abs=1e-15)


@pytest.mark.oracle
def test_it_agrees_with_lifetimes_on_generated_customers(lifetimes):
    # given 3,000 seeded customers observed 1-78 weeks on a day grid
    rng = np.random.default_rng(6)
    ages = rng.integers(7, 78 * 7, size=3000) / 7.0
    x, t_x, T = simulate_bgnbd(
        BgNbdParams(r=0.8, alpha=6.0, a=1.4, b=4.0), ages, rng=rng, day_grid=1 / 7
    )

    # when both fit
    mine = mbgnbd.fit(x, t_x, T)
    oracle = lifetimes.ModifiedBetaGeoFitter().fit(x, t_x, T)
    theirs = MbgNbdParams(*oracle.params_[["r", "alpha", "a", "b"]].to_numpy())

    # then the same maximum (ours at least as high) and the same parameters
    assert mine.converged
    their_ll = mbgnbd.log_likelihood(theirs, x, t_x, T)
    assert mine.log_likelihood >= their_ll - 1e-9 * abs(their_ll)
    assert mine.log_likelihood == pytest.approx(their_ll, rel=1e-9)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(mine.params, name) == pytest.approx(getattr(theirs, name), rel=1e-4)

    # and, at the same parameters, the same predictions
    for horizon in (1.0, 13.0, 52.0, 156.0):
        np.testing.assert_allclose(
            mbgnbd.expected_transactions(theirs, horizon, x, t_x, T),
            oracle.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T),
            rtol=1e-9,
        )
    np.testing.assert_allclose(
        mbgnbd.p_alive(theirs, x, t_x, T),
        oracle.conditional_probability_alive(x, t_x, T),
        rtol=1e-12,
    )
    grid = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(
        mbgnbd.expected_transactions_new_customer(theirs, grid),
        oracle.expected_number_of_purchases_up_to_time(grid),
        rtol=1e-10,
    )


def test_it_flags_a_fit_the_data_cannot_identify():
    result = mbgnbd.fit([3.0], [10.0], [12.0])

    assert result.customers == 1
    assert not result.converged
    assert np.isfinite(result.log_likelihood)
