"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

x = frequency (repeat transactions), t_x = recency, T = age, all in the same time unit.
Heterogeneity: purchase rate lambda ~ Gamma(r, alpha), drop-out probability p ~ Beta(a, b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from valuation.numerics._optimize import compress_rows, maximise_log_params


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class BgNbdFit:
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


def _value_and_gradient(params, x, t_x, age, weights):
    r, alpha, a, b = params
    a1, a2, a3, a4, safe = _log_terms(r, alpha, a, b, x, t_x, age)
    lse = np.logaddexp(a3, a4)
    ll = a1 + a2 + lse
    w3 = np.exp(a3 - lse)
    w4 = np.exp(a4 - lse)
    total = weights.sum()

    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + age)
    d_r -= w4 * np.log(alpha + t_x)
    d_alpha = r / alpha - w3 * (r + x) / (alpha + age) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b) - w4 / safe
    gradient = np.array([np.dot(weights, d) for d in (d_r, d_alpha, d_a, d_b)]) / total
    return float(np.dot(weights, ll) / total), gradient


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
    best, converged = maximise_log_params(
        lambda p: _value_and_gradient(p, x, t_x, age, weights), start
    )
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
    return -np.expm1((a - 1.0) * np.log1p(-z) + np.log(series))


def expected_transactions(params: BgNbdParams, t, frequency, recency, T) -> np.ndarray:
    """E[X(T, T+t) | x, t_x, T]: expected transactions in the next t time units (FHL eq. 10).

    `t` broadcasts against the customer arrays (e.g. shape (months, 1) for a horizon grid).
    """
    x, t_x, age = _arrays(frequency, recency, T)
    t = np.asarray(t, dtype=np.float64)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    alpha, a, b = params.alpha, params.a, params.b
    if a == 1.0:
        raise ValueError("the BG/NBD expectation is undefined for a == 1")
    z = t / (alpha + age + t)
    numerator = (a + b + x - 1.0) / (a - 1.0) * _one_minus_scaled_hyp2f1(params, x, z)
    return numerator * np.exp(-np.logaddexp(0.0, _log_alive_odds(params, x, t_x, age)))


def expected_transactions_new_customer(params: BgNbdParams, t) -> np.ndarray:
    """Unconditional E[X(t)] for a customer just acquired (FHL 2005, eq. 7)."""
    t = np.asarray(t, dtype=np.float64)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    alpha, a, b = params.alpha, params.a, params.b
    if a == 1.0:
        raise ValueError("the BG/NBD expectation is undefined for a == 1")
    z = t / (alpha + t)
    # Same transformation with x = 0: (1-z)^r 2F1(r, b; a+b-1; z).
    return (a + b - 1.0) / (a - 1.0) * _one_minus_scaled_hyp2f1(params, np.zeros_like(t), z)
