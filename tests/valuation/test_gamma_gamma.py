import numpy as np
import pytest

from valuation.numerics import gamma_gamma
from valuation.numerics.bgnbd import BgNbdParams
from valuation.numerics.gamma_gamma import GammaGammaParams
from valuation.numerics.simulate import simulate_bgnbd, simulate_spend


def sig3(value: float) -> float:
    return float(f"{value:.3g}")


def test_it_reproduces_fader_hardie_on_the_cdnow_calibration_repeat_customers(cdnow_calibration):
    # Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": the 946 customers of the
    # CDNOW sample with a repeat purchase in the 39-week calibration period, m_x = mean value
    # of their repeat transactions: p = 6.25, q = 3.74, gamma = 15.44.
    s = cdnow_calibration

    result = gamma_gamma.fit(s.frequency, s.monetary_value)

    assert result.converged
    assert result.customers == 946
    assert sig3(result.params.p) == 6.25
    assert sig3(result.params.q) == 3.74
    assert round(result.params.gamma, 2) == 15.44
    assert sig3(result.params.gamma) == 15.4


def test_it_has_an_analytic_gradient_equal_to_finite_differences(cdnow_calibration):
    s = cdnow_calibration
    keep = s.frequency > 0
    data = gamma_gamma._prepare(s.frequency[keep], s.monetary_value[keep])
    point = np.array([5.0, 3.0, 12.0])

    value, gradient = gamma_gamma._value_and_gradient(point, data)

    assert value * 946 == pytest.approx(
        gamma_gamma.log_likelihood(GammaGammaParams(*point), s.frequency, s.monetary_value),
        rel=1e-13,
    )
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6 * point[i]
        up, _ = gamma_gamma._value_and_gradient(point + step, data)
        down, _ = gamma_gamma._value_and_gradient(point - step, data)
        assert gradient[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-5)


@pytest.mark.parametrize("point", [(5.0, 3.0, 12.0), (0.5, 40.0, 300.0)])
def test_it_has_an_analytic_hessian_equal_to_finite_differences_of_the_gradient(
    cdnow_calibration, point
):
    s = cdnow_calibration
    keep = s.frequency > 0
    data = gamma_gamma._prepare(s.frequency[keep], s.monetary_value[keep])
    point = np.array(point)

    value, gradient, hessian = gamma_gamma._value_gradient_hessian(point, data)

    assert value == gamma_gamma._value_and_gradient(point, data)[0]
    np.testing.assert_array_equal(gradient, gamma_gamma._value_and_gradient(point, data)[1])
    np.testing.assert_array_equal(hessian, hessian.T)
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6 * point[i]
        _, up = gamma_gamma._value_and_gradient(point + step, data)
        _, down = gamma_gamma._value_and_gradient(point - step, data)
        np.testing.assert_allclose(
            hessian[i], (up - down) / (2 * step[i]), rtol=1e-5, atol=1e-7 * np.abs(hessian).max()
        )


def test_it_returns_the_population_mean_without_repeat_purchase():
    params = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)

    spend = gamma_gamma.conditional_expected_value(params, [0.0, 0.0], [0.0, np.nan])

    population = 6.25 * 15.44 / 2.74
    assert gamma_gamma.population_mean(params) == pytest.approx(population, rel=1e-15)
    np.testing.assert_allclose(spend, [population, population], rtol=1e-15)


def test_it_moves_from_the_population_mean_towards_the_customer_mean_with_frequency():
    params = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    population = gamma_gamma.population_mean(params)

    spend = gamma_gamma.conditional_expected_value(params, [1.0, 10.0, 1000.0], [100.0] * 3)

    weight = np.array([1.0, 10.0, 1000.0]) * 6.25 / (np.array([1.0, 10.0, 1000.0]) * 6.25 + 2.74)
    np.testing.assert_allclose(spend, (1 - weight) * population + weight * 100.0, rtol=1e-14)
    assert population < spend[0] < spend[1] < spend[2] < 100.0


def test_it_flags_a_fit_that_two_customers_cannot_identify():
    result = gamma_gamma.fit([2.0, 5.0], [10.0, 10.0])

    assert result.customers == 2
    assert not result.converged


def test_it_refuses_to_fit_without_a_repeat_customer():
    with pytest.raises(ValueError, match="at least one customer with a repeat"):
        gamma_gamma.fit([0.0, 0.0, 3.0], [0.0, 0.0, 0.0])


@pytest.mark.oracle
def test_it_agrees_with_lifetimes_on_generated_customers(lifetimes):
    # given 4,000 seeded customers with spend drawn from the Gamma-Gamma model
    rng = np.random.default_rng(66)
    ages = rng.integers(7, 104 * 7, size=4000) / 7.0
    x, _, _ = simulate_bgnbd(BgNbdParams(0.9, 5.0, 1.5, 3.0), ages, rng=rng)
    m = simulate_spend(GammaGammaParams(4.0, 5.0, 30.0), x, rng=rng)
    repeat = x > 0

    # when both fit
    mine = gamma_gamma.fit(x, m)
    oracle = lifetimes.GammaGammaFitter().fit(x[repeat], m[repeat])
    theirs = GammaGammaParams(*oracle.params_[["p", "q", "v"]].to_numpy())

    # then the same maximum and parameters, and the same conditional spend at equal parameters
    their_ll = gamma_gamma.log_likelihood(theirs, x, m)
    assert mine.customers == int(repeat.sum())
    assert mine.log_likelihood >= their_ll - 1e-9 * abs(their_ll)
    assert mine.log_likelihood == pytest.approx(their_ll, rel=1e-9)
    for name in ("p", "q", "gamma"):
        assert getattr(mine.params, name) == pytest.approx(getattr(theirs, name), rel=1e-5)
    np.testing.assert_allclose(
        gamma_gamma.conditional_expected_value(theirs, x[repeat], m[repeat]),
        oracle.conditional_expected_average_profit(x[repeat], m[repeat]),
        rtol=1e-12,
    )


def test_it_matches_lifetimes_docs_on_the_rounded_cdnow_summary_file():
    # cdnow_customers_summary_with_transactions.csv (shipped in lifetimes) holds the same 2,357
    # customers with t_x, T and the mean repeat spend rounded to two decimals; the lifetimes
    # documentation reports p = 6.25, q = 3.74, v = 15.45 on it (15.44 on exact values).
    from .conftest import lifetimes_datasets_dir

    rows = np.genfromtxt(
        lifetimes_datasets_dir() / "cdnow_customers_summary_with_transactions.csv",
        delimiter=",",
        names=True,
    )

    result = gamma_gamma.fit(rows["x"], rows["zbar"])

    assert result.customers == 946
    assert (sig3(result.params.p), sig3(result.params.q)) == (6.25, 3.74)
    assert round(result.params.gamma, 2) == 15.45
