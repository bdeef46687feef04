import mpmath
import numpy as np
import pytest
from scipy.special import hyp2f1

from valuation.numerics import bgnbd
from valuation.numerics.bgnbd import BgNbdParams
from valuation.numerics.simulate import simulate_bgnbd

# Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science 24(2).
PUBLISHED = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PUBLISHED_LOG_LIKELIHOOD = -9582.4


def sig3(value: float) -> float:
    return float(f"{value:.3g}")


def mp_expected_transactions(params, t, x, t_x, T, a_offset=None):
    """FHL (2005) eq. 10 in its original form, in 50-digit arithmetic (independent oracle)."""
    mpmath.mp.dps = 50
    r, alpha, a, b = (mpmath.mpf(v) for v in (params.r, params.alpha, params.a, params.b))
    x, t_x, T, t = (mpmath.mpf(v) for v in (x, t_x, T, t))
    if a_offset is not None:
        a = mpmath.mpf(1) + mpmath.mpf(a_offset)
    z = t / (alpha + T + t)
    hyp = mpmath.hyp2f1(r + x, b + x, a + b + x - 1, z)
    numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    odds = (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0
    return float(numerator / (1 + odds))


def test_it_reproduces_fader_hardie_lee_2005_on_the_cdnow_sample(cdnow_calibration):
    s = cdnow_calibration

    result = bgnbd.fit(s.frequency, s.recency, s.T)

    assert result.converged
    assert result.customers == 2357
    assert sig3(result.params.r) == PUBLISHED.r
    assert sig3(result.params.alpha) == 4.41
    assert round(result.params.alpha, 3) == PUBLISHED.alpha
    assert sig3(result.params.a) == PUBLISHED.a
    assert sig3(result.params.b) == 2.43
    assert round(result.params.b, 3) == PUBLISHED.b
    assert round(result.log_likelihood, 1) == PUBLISHED_LOG_LIKELIHOOD


def test_it_counts_compressed_rows_with_their_weights(cdnow_calibration):
    s = cdnow_calibration
    rows, index, counts = np.unique(
        np.column_stack([s.frequency, s.recency, s.T]),
        axis=0,
        return_index=True,
        return_counts=True,
    )

    total = bgnbd.log_likelihood(PUBLISHED, s.frequency, s.recency, s.T)
    weighted = bgnbd.log_likelihood(PUBLISHED, rows[:, 0], rows[:, 1], rows[:, 2], counts)

    assert len(index) < 2357
    assert weighted == pytest.approx(total, rel=1e-12)


def test_it_has_an_analytic_gradient_equal_to_finite_differences(cdnow_calibration):
    s = cdnow_calibration
    point = np.array([0.3, 5.0, 0.9, 2.0])

    data = bgnbd._prepare(s.frequency, s.recency, s.T)

    value, gradient = bgnbd._value_and_gradient(point, data)

    assert value * 2357 == pytest.approx(
        bgnbd.log_likelihood(BgNbdParams(*point), s.frequency, s.recency, s.T), rel=1e-13
    )
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * point[i]
        up, _ = bgnbd._value_and_gradient(point + step, data)
        down, _ = bgnbd._value_and_gradient(point - step, data)
        assert gradient[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-5)


@pytest.mark.parametrize("point", [(0.3, 5.0, 0.9, 2.0), (2.0, 40.0, 0.2, 9.0)])
def test_it_has_an_analytic_hessian_equal_to_finite_differences_of_the_gradient(
    cdnow_calibration, point
):
    # Newton's method steps with this Hessian, and `converged` is decided on it.
    s = cdnow_calibration
    point = np.array(point)
    data = bgnbd._prepare(s.frequency, s.recency, s.T)

    value, gradient, hessian = bgnbd._value_gradient_hessian(point, data)

    assert value == bgnbd._value_and_gradient(point, data)[0]
    np.testing.assert_array_equal(gradient, bgnbd._value_and_gradient(point, data)[1])
    np.testing.assert_array_equal(hessian, hessian.T)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * point[i]
        _, up = bgnbd._value_and_gradient(point + step, data)
        _, down = bgnbd._value_and_gradient(point - step, data)
        np.testing.assert_allclose(
            hessian[i], (up - down) / (2 * step[i]), rtol=1e-5, atol=1e-7 * np.abs(hessian).max()
        )


def test_it_predicts_the_cdnow_holdout_within_fifteen_percent(
    cdnow_transactions, cdnow_calibration
):
    # given the transactions (one per customer-day) observed in weeks 40-78
    ids, dates, _ = cdnow_transactions
    later = dates > np.datetime64("1997-09-30")
    observed = np.unique(np.column_stack([ids[later], dates[later].astype(np.int64)]), axis=0)
    s = cdnow_calibration
    params = bgnbd.fit(s.frequency, s.recency, s.T).params

    # when the calibration fit forecasts the next 39 weeks, customer by customer
    forecast = bgnbd.expected_transactions(params, 39.0, s.frequency, s.recency, s.T).sum()

    # then the total is close to what happened
    assert observed.shape[0] == 1882
    assert forecast == pytest.approx(1882, rel=0.15)


def test_it_gives_p_alive_one_and_positive_expectation_without_repeat_purchase():
    p_alive = bgnbd.p_alive(PUBLISHED, [0.0, 0.0], [0.0, 0.0], [1.0, 100.0])
    expected = bgnbd.expected_transactions(PUBLISHED, 52.0, [0.0, 0.0], [0.0, 0.0], [1.0, 100.0])

    assert p_alive.tolist() == [1.0, 1.0]
    assert expected[0] > expected[1] > 0


def test_it_evaluates_one_customer_as_in_a_batch():
    one = bgnbd.expected_transactions(PUBLISHED, 26.0, 4.0, 20.0, 30.0)
    batch = bgnbd.expected_transactions(PUBLISHED, 26.0, [0.0, 4.0], [0.0, 20.0], [9.0, 30.0])

    assert one.shape == ()
    assert float(one) == batch[1]
    assert float(one) == pytest.approx(
        mp_expected_transactions(PUBLISHED, 26, 4, 20, 30), rel=1e-12
    )


def test_it_fits_a_single_customer_without_failing():
    result = bgnbd.fit([3.0], [10.0], [12.0])

    assert result.customers == 1
    assert not result.converged  # one customer cannot identify four parameters
    assert np.isfinite(result.log_likelihood)
    assert result.log_likelihood >= bgnbd.log_likelihood(
        BgNbdParams(1.0, 12.0, 1.0, 1.0), [3.0], [10.0], [12.0]
    )


def test_it_stays_finite_and_exact_for_huge_frequencies():
    # given a customer with 5,000 repeat purchases in 5,200 weeks, the last one a week ago
    x, t_x, T, t = 5000.0, 5199.0, 5200.0, 156.0

    expected = bgnbd.expected_transactions(PUBLISHED, t, x, t_x, T)
    alive = bgnbd.p_alive(PUBLISHED, x, t_x, T)

    assert float(expected) == pytest.approx(
        mp_expected_transactions(PUBLISHED, t, x, t_x, T), rel=1e-10
    )
    # about 0.96 purchases a week for three years, less the small chance of dropping out
    assert 0.9 * t * x / T < float(expected) < t * (PUBLISHED.r + x) / (PUBLISHED.alpha + T)
    assert 0.999 < float(alive) < 1.0


def test_it_stays_finite_where_the_naive_hypergeometric_term_overflows():
    # given a daily buyer (time unit: days) forecast over three years: about 1,000 purchases
    x, t_x, T, t = 5000.0, 5199.0, 5200.0, 1096.0
    r, alpha, a, b = PUBLISHED.r, PUBLISHED.alpha, PUBLISHED.a, PUBLISHED.b
    naive_hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))

    expected = bgnbd.expected_transactions(PUBLISHED, t, x, t_x, T)

    assert np.isinf(naive_hyp)
    assert float(expected) == pytest.approx(
        mp_expected_transactions(PUBLISHED, t, x, t_x, T), rel=1e-10
    )


def test_it_keeps_p_alive_finite_where_the_naive_odds_overflow():
    # given 5,000 purchases in the first half of 5,200 weeks and silence since
    x, t_x, T = 5000.0, 2600.0, 5200.0
    with np.errstate(over="ignore"):
        naive_odds = (PUBLISHED.a / (PUBLISHED.b + x - 1)) * np.power(
            (PUBLISHED.alpha + T) / (PUBLISHED.alpha + t_x), PUBLISHED.r + x
        )
    mpmath.mp.dps = 50
    log_odds = mpmath.log(PUBLISHED.a / (PUBLISHED.b + x - 1)) + (PUBLISHED.r + x) * mpmath.log(
        mpmath.mpf(PUBLISHED.alpha + T) / (PUBLISHED.alpha + t_x)
    )

    alive = bgnbd.p_alive(PUBLISHED, x, t_x, T)
    expected = bgnbd.expected_transactions(PUBLISHED, 52.0, x, t_x, T)

    assert np.isinf(naive_odds)
    assert float(alive) == pytest.approx(float(1 / (1 + mpmath.exp(log_odds))), rel=1e-10)
    assert 0.0 <= float(expected) < 1e-300


@pytest.mark.parametrize(
    ("x", "t_x", "T", "t"),
    [
        (1, 1, 2, 1),
        (2, 30.43, 38.86, 39),
        (20, 5, 300, 520),
        (300, 299, 300, 10_000),
        (2000, 100, 5200, 52),
        (100_000, 99_990, 100_000, 520),
    ],
)
def test_it_agrees_with_50_digit_arithmetic(x, t_x, T, t):
    mine = float(bgnbd.expected_transactions(PUBLISHED, t, x, t_x, T))

    assert np.isfinite(mine)
    assert mine == pytest.approx(
        mp_expected_transactions(PUBLISHED, t, x, t_x, T), rel=1e-9, abs=1e-300
    )


def test_it_gives_the_unconditional_expectation_as_the_zero_history_limit():
    t = np.array([0.0, 1.0, 39.0, 78.0])

    new = bgnbd.expected_transactions_new_customer(PUBLISHED, t)

    assert new[0] == 0.0
    assert np.all(np.diff(new) > 0)
    # a customer with no repeat and no age is a new customer
    np.testing.assert_allclose(
        new, bgnbd.expected_transactions(PUBLISHED, t, 0.0, 0.0, 0.0), rtol=1e-10
    )


def test_it_rejects_recency_beyond_age():
    with pytest.raises(ValueError, match="recency <= T"):
        bgnbd.p_alive(PUBLISHED, [1.0], [5.0], [4.0])


@pytest.mark.oracle
def test_it_agrees_with_lifetimes_on_generated_customers(lifetimes):
    # given 3,000 seeded customers drawn from the model, observed 1-78 weeks, on a day grid
    rng = np.random.default_rng(6)
    truth = BgNbdParams(r=0.8, alpha=6.0, a=1.4, b=4.0)
    ages = rng.integers(7, 78 * 7, size=3000) / 7.0
    x, t_x, T = simulate_bgnbd(truth, ages, rng=rng, day_grid=1 / 7)

    # when both fit
    mine = bgnbd.fit(x, t_x, T)
    oracle = lifetimes.BetaGeoFitter().fit(x, t_x, T, tol=1e-10)
    theirs = BgNbdParams(*oracle.params_[["r", "alpha", "a", "b"]].to_numpy())

    # then the same maximum (ours at least as high) and the same parameters
    assert mine.converged
    their_ll = bgnbd.log_likelihood(theirs, x, t_x, T)
    assert mine.log_likelihood >= their_ll - 1e-9 * abs(their_ll)
    assert mine.log_likelihood == pytest.approx(their_ll, rel=1e-9)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(mine.params, name) == pytest.approx(getattr(theirs, name), rel=1e-5)

    # and, at the same parameters, the same predictions to ~1e-9
    for horizon in (1.0, 13.0, 52.0, 156.0):
        np.testing.assert_allclose(
            bgnbd.expected_transactions(theirs, horizon, x, t_x, T),
            oracle.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T),
            rtol=1e-9,
        )
    np.testing.assert_allclose(
        bgnbd.p_alive(theirs, x, t_x, T),
        oracle.conditional_probability_alive(x, t_x, T),
        rtol=1e-12,
    )
    grid = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(
        bgnbd.expected_transactions_new_customer(theirs, grid),
        oracle.expected_number_of_purchases_up_to_time(grid),
        rtol=1e-10,
    )


def test_it_evaluates_the_removable_singularity_at_a_equal_one():
    at_one = BgNbdParams(r=0.5, alpha=5.0, a=1.0, b=2.0)
    histories = [(0.0, 0.0, 9.0), (4.0, 20.0, 30.0), (0.0, 0.0, 0.0)]

    value = bgnbd.expected_transactions(at_one, 26.0, *np.array(histories).T)
    new = bgnbd.expected_transactions_new_customer(at_one, 26.0)

    for got, history in zip(value, histories, strict=True):
        # the 50-digit value next to a = 1 (the function is continuous there)
        near = mp_expected_transactions(at_one, 26, *history, a_offset="1e-20")
        assert got == pytest.approx(near, rel=1e-8)
    assert float(new) == pytest.approx(value[2], rel=1e-12)


def test_it_flags_a_fit_the_data_cannot_identify():
    # given nobody made a repeat purchase: a and b are not identified
    result = bgnbd.fit([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [5.0, 10.0, 20.0])

    assert not result.converged


@pytest.mark.parametrize("b", [0.4, 0.7, 2.0])
def test_it_handles_a_plus_b_below_one_for_customers_without_repeat_purchase(b):
    # given a small a, so that a + b + x - 1 < 0 for x = 0 when b < 0.7
    params = BgNbdParams(r=0.5, alpha=5.0, a=0.3, b=b)

    value = bgnbd.expected_transactions(params, [1.0, 10.0, 100.0], 0.0, 0.0, 10.0)

    for got, t in zip(value, [1.0, 10.0, 100.0], strict=True):
        # b = 0.7 puts a + b - 1 on the removable singularity: compare next to it
        nudged = BgNbdParams(0.5, 5.0, 0.3, b + 1e-12) if b == 0.7 else params
        assert got == pytest.approx(mp_expected_transactions(nudged, t, 0, 0, 10), rel=1e-8)
    new = bgnbd.expected_transactions_new_customer(params, 10.0)
    assert float(new) == pytest.approx(
        mp_expected_transactions(BgNbdParams(0.5, 5.0, 0.3, b + 1e-12), 10, 0, 0, 0), rel=1e-8
    )
