"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

x = frequency (repeat transactions), t_x = recency, T = age, all in the same time unit.
Heterogeneity: purchase rate lambda ~ Gamma(r, alpha), drop-out probability p ~ Beta(a, b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from valuation.numerics._optimize import compress_rows, maximise_log_params


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class BgNbdFit:
    """`converged` is False when the optimiser did not reach a stationary point or the data do
    not identify the parameters (e.g. nobody made a repeat purchase): use the fallback then."""

    params: BgNbdParams
    log_likelihood: float
    customers: int
    converged: bool


def _arrays(frequency, recency, T):
    x = np.asarray(frequency, dtype=np.float64)
    t_x = np.asarray(recency, dtype=np.float64)
    age = np.asarray(T, dtype=np.float64)
    x, t_x, age = np.broadcast_arrays(x, t_x, age)
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 when frequency is 0")
    return x, t_x, age


def _log_terms(r, alpha, a, b, x, t_x, age):
    """The pieces of the individual log-likelihood (FHL 2005, eq. 6) in log space."""
    repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + age)
    # b + x - 1 > 0 whenever x >= 1; masked elsewhere.
    safe = np.where(repeat, b + x - 1.0, 1.0)
    a4 = np.where(repeat, np.log(a) - np.log(safe) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1, a2, a3, a4, safe


@dataclass(frozen=True)
class _Data:
    """Compressed rows prepared for repeated likelihood evaluation during a fit.

    Terms that depend on x alone (gammaln, betaln, digamma) are evaluated once per distinct
    frequency and weighted by the customers with that frequency; only a few logs and
    exponentials remain per row. Rows with x == 0 have no second likelihood term.
    """

    x_values: np.ndarray  # distinct frequencies
    x_weights: np.ndarray  # customers per distinct frequency
    T0: np.ndarray  # ages of the rows with x == 0
    w0: np.ndarray
    x1: np.ndarray  # rows with x > 0
    code1: np.ndarray  # index of each x > 0 row's frequency in x_values
    t_x1: np.ndarray
    T1: np.ndarray
    w1: np.ndarray
    total: float


def _prepare(x, t_x, age, weights) -> _Data:
    x_values, codes = np.unique(x, return_inverse=True)
    repeat = x > 0
    return _Data(
        x_values=x_values,
        x_weights=np.bincount(codes, weights=weights, minlength=x_values.shape[0]),
        T0=age[~repeat],
        w0=weights[~repeat],
        x1=x[repeat],
        code1=codes[repeat],
        t_x1=t_x[repeat],
        T1=age[repeat],
        w1=weights[repeat],
        total=float(weights.sum()),
    )


def _value_and_gradient(params, data: _Data):
    """Mean log-likelihood and its gradient w.r.t. (r, alpha, a, b) (FHL 2005, eq. 6)."""
    r, alpha, a, b = params
    ux, W = data.x_values, data.x_weights
    # Per distinct frequency: ln Γ(r+x) - ln Γ(r) + r ln α + ln B(a, b+x) - ln B(a, b).
    per_x = gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + betaln(a, b + ux) - betaln(a, b)
    value = np.dot(W, per_x)
    d_r = np.dot(W, digamma(r + ux) - digamma(r) + np.log(alpha))
    d_alpha = W.sum() * r / alpha
    d_a = np.dot(W, digamma(a + b) - digamma(a + b + ux))
    d_b = np.dot(W, digamma(b + ux) - digamma(a + b + ux) - digamma(b) + digamma(a + b))

    # x == 0 rows: + ln (α+T)^-r.
    log_T0 = np.log(alpha + data.T0)
    value -= r * np.dot(data.w0, log_T0)
    d_r -= np.dot(data.w0, log_T0)
    d_alpha -= r * np.dot(data.w0, 1.0 / (alpha + data.T0))

    # x > 0 rows: + ln[(α+T)^-(r+x) + a/(b+x-1) (α+t_x)^-(r+x)] = a3 + softplus(a4 - a3).
    rx = r + data.x1
    inv_T, inv_tx = 1.0 / (alpha + data.T1), 1.0 / (alpha + data.t_x1)
    log_T, log_tx = np.log(alpha + data.T1), np.log(alpha + data.t_x1)
    log_ratio = (np.log(a) - np.log(b + ux - 1.0, where=ux > 0, out=np.zeros_like(ux)))[data.code1]
    gap = log_ratio + rx * (log_T - log_tx)  # a4 - a3
    w4 = expit(gap)  # weight of the "dropped out at t_x" term
    ww4 = data.w1 * w4
    value += np.dot(data.w1, -rx * log_T + np.logaddexp(0.0, gap))
    d_r += np.dot(data.w1, -log_T) + np.dot(ww4, log_T - log_tx)
    d_alpha += np.dot(data.w1, -rx * inv_T) + np.dot(ww4, rx * (inv_T - inv_tx))
    d_a += ww4.sum() / a
    per_code = np.bincount(data.code1, weights=ww4, minlength=ux.shape[0])
    d_b -= np.dot(per_code[ux > 0], 1.0 / (b + ux[ux > 0] - 1.0))
    gradient = np.array([d_r, d_alpha, d_a, d_b]) / data.total
    return float(value / data.total), gradient


def log_likelihood(params: BgNbdParams, frequency, recency, T, weights=None) -> float:
    """Total log-likelihood of the customers (each row counted `weights` times)."""
    x, t_x, age = _arrays(frequency, recency, T)
    a1, a2, a3, a4, _ = _log_terms(params.r, params.alpha, params.a, params.b, x, t_x, age)
    ll = a1 + a2 + np.logaddexp(a3, a4)
    if weights is None:
        return float(ll.sum())
    return float(np.dot(np.asarray(weights, dtype=np.float64), ll))


def fit(frequency, recency, T, *, initial: BgNbdParams | None = None) -> BgNbdFit:
    """Maximum-likelihood fit. Identical (x, t_x, T) rows are compressed to weighted rows."""
    x, t_x, age = _arrays(frequency, recency, T)
    x, t_x, age = x.ravel(), t_x.ravel(), age.ravel()
    if x.shape[0] == 0:
        raise ValueError("cannot fit BG/NBD to zero customers")
    (x, t_x, age), weights = compress_rows(x, t_x, age)
    if initial is None:
        # alpha has the unit of time: start it at the mean age so the scale is right.
        start = np.array([1.0, max(float(np.average(age, weights=weights)), 1e-3), 1.0, 1.0])
    else:
        start = np.array([initial.r, initial.alpha, initial.a, initial.b], dtype=np.float64)
    data = _prepare(x, t_x, age, weights)
    best, converged = maximise_log_params(lambda p: _value_and_gradient(p, data), start)
    params = BgNbdParams(*(float(v) for v in best))
    return BgNbdFit(
        params=params,
        log_likelihood=log_likelihood(params, x, t_x, age, weights),
        customers=int(weights.sum()),
        converged=converged,
    )


def _log_alive_odds(params: BgNbdParams, x, t_x, age):
    """log of delta(x>0) * a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x); -inf when x == 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    safe = np.where(repeat, b + x - 1.0, 1.0)
    odds = np.log(a) - np.log(safe) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    return np.where(repeat, odds, -np.inf)


def p_alive(params: BgNbdParams, frequency, recency, T) -> np.ndarray:
    """P(customer still alive | x, t_x, T) (FHL 2005 / Fader-Hardie-Lee note, eq. 1)."""
    x, t_x, age = _arrays(frequency, recency, T)
    return np.exp(-np.logaddexp(0.0, _log_alive_odds(params, x, t_x, age)))


def _one_minus_scaled_hyp2f1(params: BgNbdParams, x, z):
    """1 - (1-z)^(r+x) * 2F1(r+x, b+x; a+b+x-1; z), computed stably.

    By Euler's transformation 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z), and here
    C-A-B = a-1-r-x, so the product is (1-z)^(a-1) * 2F1(a+b-1-r, a-1; a+b+x-1; z). The new
    series has a small second parameter (a-1) and a third parameter that grows with x, so it
    neither overflows nor loses accuracy for huge frequencies or long histories, whereas the
    original 2F1 grows like (1-z)^-(r+x).
    """
    r, a, b = params.r, params.a, params.b
    series = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    # The series can be negative when a + b + x - 1 < 0 (x = 0, a + b < 1): no log of it.
    return 1.0 - np.exp((a - 1.0) * np.log1p(-z)) * series


_A_NEAR_ONE = 1e-6
_A_STEP = 1e-5


def _average_around_a_one(function, params: BgNbdParams, *args):
    """At a == 1 the closed forms are 0/0 but the expectation is analytic in a: the mean of
    the values at a = 1 +- h is the value at a = 1 to O(h^2) (h = 1e-5: ~1e-10 relative)."""
    low = BgNbdParams(params.r, params.alpha, 1.0 - _A_STEP, params.b)
    high = BgNbdParams(params.r, params.alpha, 1.0 + _A_STEP, params.b)
    return 0.5 * (function(low, *args) + function(high, *args))


def _average_around_a_plus_b_one(function, params: BgNbdParams, *args):
    """Likewise at a + b == 1, where a customer without repeat purchase gives 0 * 2F1(..; 0; z)
    (the pole of 2F1 in its third parameter cancels): average over b +- h."""
    low = BgNbdParams(params.r, params.alpha, params.a, 1.0 - params.a - _A_STEP)
    high = BgNbdParams(params.r, params.alpha, params.a, 1.0 - params.a + _A_STEP)
    return 0.5 * (function(low, *args) + function(high, *args))


def expected_transactions(params: BgNbdParams, t, frequency, recency, T) -> np.ndarray:
    """E[X(T, T+t) | x, t_x, T]: expected transactions in the next t time units (FHL eq. 10).

    `t` broadcasts against the customer arrays (e.g. shape (months, 1) for a horizon grid).
    """
    x, t_x, age = _arrays(frequency, recency, T)
    t = np.asarray(t, dtype=np.float64)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    if abs(params.a - 1.0) < _A_NEAR_ONE:
        return _average_around_a_one(expected_transactions, params, t, x, t_x, age)
    if abs(params.a + params.b - 1.0) < _A_NEAR_ONE and np.any(x == 0):
        return _average_around_a_plus_b_one(expected_transactions, params, t, x, t_x, age)
    alpha, a, b = params.alpha, params.a, params.b
    z = t / (alpha + age + t)
    numerator = (a + b + x - 1.0) / (a - 1.0) * _one_minus_scaled_hyp2f1(params, x, z)
    return numerator * np.exp(-np.logaddexp(0.0, _log_alive_odds(params, x, t_x, age)))


def expected_transactions_new_customer(params: BgNbdParams, t) -> np.ndarray:
    """Unconditional E[X(t)] for a customer just acquired (FHL 2005, eq. 7)."""
    t = np.asarray(t, dtype=np.float64)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    if abs(params.a - 1.0) < _A_NEAR_ONE:
        return _average_around_a_one(expected_transactions_new_customer, params, t)
    if abs(params.a + params.b - 1.0) < _A_NEAR_ONE:
        return _average_around_a_plus_b_one(expected_transactions_new_customer, params, t)
    alpha, a, b = params.alpha, params.a, params.b
    z = t / (alpha + t)
    # Same transformation with x = 0: (1-z)^r 2F1(r, b; a+b-1; z).
    return (a + b - 1.0) / (a - 1.0) * _one_minus_scaled_hyp2f1(params, np.zeros_like(t), z)
