"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

x = frequency (repeat transactions), t_x = recency, T = age, all in the same time unit.
Heterogeneity: purchase rate lambda ~ Gamma(r, alpha), drop-out probability p ~ Beta(a, b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1, zeta

from valuation.numerics._optimize import factorise, maximise_log_params, sum_of


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
    """Customers prepared for repeated likelihood evaluation during a fit.

    The likelihood splits into terms in x alone (gammaln, betaln, digamma: evaluated once per
    distinct frequency, weighted by its customers; zero for x == 0), a term -(r+x) ln(alpha+T)
    (summed once per distinct age with its customers' count and frequencies), and for repeat
    buyers ln(1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), the only per-customer work. Its
    logarithms and reciprocals come from tables over the distinct ages and recencies (a few
    hundred on a day grid), looked up by code, into preallocated scratch rows.
    """

    x_values: np.ndarray  # distinct frequencies > 0
    x_weights: np.ndarray  # customers per distinct frequency
    T_values: np.ndarray  # distinct ages
    T_weights: np.ndarray  # customers per distinct age
    T_x_sums: np.ndarray  # sum of their frequencies
    t_values: np.ndarray  # distinct recencies of repeat buyers
    x1: np.ndarray  # repeat buyers (x > 0): frequency,
    x_code1: np.ndarray  # its index in x_values,
    T_code1: np.ndarray  # age index in T_values,
    t_code1: np.ndarray  # recency index in t_values,
    total: float
    work: np.ndarray  # scratch rows, one column per repeat buyer
    sign: np.ndarray  # scratch booleans


def _prepare(x, t_x, age) -> _Data:
    x, t_x, age = (np.ascontiguousarray(v, dtype=np.float64).ravel() for v in (x, t_x, age))
    repeat = np.flatnonzero(x > 0)
    x1 = x[repeat]
    x_values, x_code1 = factorise(x1)
    t_values, t_code1 = factorise(t_x[repeat])
    T_values, T_codes = factorise(age)
    T_code1 = T_codes[repeat]
    n_x, n_T = x_values.shape[0], T_values.shape[0]
    return _Data(
        x_values=x_values,
        x_weights=np.bincount(x_code1, minlength=n_x).astype(np.float64),
        T_values=T_values,
        T_weights=np.bincount(T_codes, minlength=n_T).astype(np.float64),
        T_x_sums=np.bincount(T_code1, weights=x1, minlength=n_T),
        t_values=t_values,
        x1=x1,
        x_code1=x_code1,
        T_code1=T_code1,
        t_code1=t_code1,
        total=float(x.shape[0]),
        work=np.empty((12, x1.shape[0])),
        sign=np.empty(x1.shape[0], dtype=bool),
    )


def _value_gradient_hessian(params, data: _Data, hessian: bool = True):
    """Mean log-likelihood, its gradient and (optionally) Hessian w.r.t. (r, alpha, a, b)
    (FHL 2005, eq. 6)."""
    r, alpha, a, b = (float(v) for v in params)
    ux, W = data.x_values, data.x_weights
    N = data.total
    grad = np.zeros(4)
    hess = np.zeros((4, 4))

    # Every customer: r ln α; per distinct frequency x > 0 (zero at x = 0):
    # ln Γ(r+x) - ln Γ(r) + ln B(a, b+x) - ln B(a, b).
    rx_u, bx_u, abx_u = r + ux, b + ux, a + b + ux
    per_x = gammaln(rx_u) - gammaln(r) + betaln(a, bx_u) - betaln(a, b)
    value = sum_of(per_x, W) + N * r * np.log(alpha)
    d_ab = digamma(a + b) - digamma(abx_u)
    grad[0] = sum_of(digamma(rx_u) - digamma(r), W) + N * np.log(alpha)
    grad[1] = N * r / alpha
    grad[2] = sum_of(d_ab, W)
    grad[3] = sum_of(digamma(bx_u) - digamma(b) + d_ab, W)
    if hessian:
        t_ab = zeta(2.0, a + b) - zeta(2.0, abx_u)  # zeta(2, z) is the trigamma function
        hess[0, 0] = sum_of(zeta(2.0, rx_u) - zeta(2.0, r), W)
        hess[0, 1] = N / alpha
        hess[1, 1] = -N * r / alpha**2
        hess[2, 2] = hess[2, 3] = sum_of(t_ab, W)
        hess[3, 3] = sum_of(zeta(2.0, bx_u) - zeta(2.0, b) + t_ab, W)

    # Every customer: -(r+x) ln(α+T), summed per distinct age.
    inv_T = 1.0 / (alpha + data.T_values)
    log_T = np.log(alpha + data.T_values)
    rWX = r * data.T_weights + data.T_x_sums
    value -= sum_of(log_T, rWX)
    grad[0] -= sum_of(log_T, data.T_weights)
    grad[1] -= sum_of(inv_T, rWX)
    if hessian:
        hess[0, 1] -= sum_of(inv_T, data.T_weights)
        hess[1, 1] += sum_of(inv_T * inv_T, rWX)

    # Repeat buyers: + softplus(G), G = ln a - ln(b+x-1) + (r+x)(ln(α+T) - ln(α+t_x)), the
    # log odds of "dropped out at t_x" against "alive at T". With D = ln(α+T) - ln(α+t_x),
    # E = 1/(α+T) - 1/(α+t_x) and c = 1/(b+x-1), the derivatives of G are (D, (r+x)E, 1/a, -c).
    inv_t = 1.0 / (alpha + data.t_values)
    log_t = np.log(alpha + data.t_values)
    c_u = 1.0 / (bx_u - 1.0)
    log_ac_u = np.log(a) + np.log(c_u)
    cT, ct, cx = data.T_code1, data.t_code1, data.x_code1
    D, iT, it, E, rxE, G, e, q, s, c, c2, tmp = data.work
    positive = data.sign
    np.take(log_T, cT, out=D, mode="clip")
    D -= np.take(log_t, ct, out=tmp, mode="clip")
    np.take(inv_T, cT, out=iT, mode="clip")
    np.take(inv_t, ct, out=it, mode="clip")
    np.subtract(iT, it, out=E)
    np.add(data.x1, r, out=rxE)
    np.multiply(rxE, D, out=G)
    G += np.take(log_ac_u, cx, out=tmp, mode="clip")
    rxE *= E
    # softplus(G) = max(G, 0) + log1p(exp(-|G|)); σ(G) = 1/(1+exp(-|G|)) or its complement.
    np.abs(G, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    np.add(e, 1.0, out=q)
    np.reciprocal(q, out=q)
    value += sum_of(np.log1p(e, out=tmp)) + sum_of(np.maximum(G, 0.0, out=tmp))
    np.multiply(e, q, out=s)
    np.copyto(s, q, where=np.greater_equal(G, 0.0, out=positive))
    np.take(c_u, cx, out=c, mode="clip")
    S0 = sum_of(s)
    grad[0] += sum_of(s, D)
    grad[1] += sum_of(s, rxE)
    grad[2] += S0 / a
    grad[3] -= sum_of(s, c)
    if hessian:
        s2 = q  # σ'(G) = σ(1-σ) = exp(-|G|) q²
        s2 *= q
        s2 *= e
        np.multiply(c, c, out=c2)
        it += iT
        it *= rxE  # (r+x)(1/(α+T)² - 1/(α+t_x)²) = -G_αα
        Q1 = sum_of(s2)
        hess[0, 1] += sum_of(s, E)
        hess[1, 1] -= sum_of(s, it)
        hess[2, 2] += (Q1 - S0) / a**2
        hess[2, 3] -= sum_of(s2, c) / a
        hess[3, 3] += sum_of(s2, c2) + sum_of(s, c2)
        np.multiply(s2, D, out=tmp)
        hess[0, 0] += sum_of(tmp, D)
        hess[0, 1] += sum_of(tmp, rxE)
        hess[0, 2] += sum_of(tmp) / a
        hess[0, 3] -= sum_of(tmp, c)
        np.multiply(s2, rxE, out=tmp)
        hess[1, 1] += sum_of(tmp, rxE)
        hess[1, 2] += sum_of(tmp) / a
        hess[1, 3] -= sum_of(tmp, c)
        hess = np.triu(hess) + np.triu(hess, 1).T
        hess /= N
    return value / N, grad / N, hess if hessian else None


def _value_and_gradient(params, data: _Data):
    """Mean log-likelihood and its gradient w.r.t. (r, alpha, a, b)."""
    value, gradient, _ = _value_gradient_hessian(params, data, hessian=False)
    return value, gradient


def log_likelihood(params: BgNbdParams, frequency, recency, T, weights=None) -> float:
    """Total log-likelihood of the customers (each row counted `weights` times)."""
    x, t_x, age = _arrays(frequency, recency, T)
    a1, a2, a3, a4, _ = _log_terms(params.r, params.alpha, params.a, params.b, x, t_x, age)
    ll = a1 + a2 + np.logaddexp(a3, a4)
    if weights is None:
        return float(ll.sum())
    return float(np.dot(np.asarray(weights, dtype=np.float64), ll))


def fit(frequency, recency, T, *, initial: BgNbdParams | None = None) -> BgNbdFit:
    """Maximum-likelihood fit (Newton's method on log-parameters, see _optimize)."""
    x, t_x, age = _arrays(frequency, recency, T)
    x, t_x, age = x.ravel(), t_x.ravel(), age.ravel()
    if x.shape[0] == 0:
        raise ValueError("cannot fit BG/NBD to zero customers")
    data = _prepare(x, t_x, age)
    if initial is None:
        # alpha has the unit of time: start it at the mean age so the scale is right.
        mean_age = sum_of(data.T_values, data.T_weights) / data.total
        start = np.array([1.0, max(mean_age, 1e-3), 1.0, 1.0])
    else:
        start = np.array([initial.r, initial.alpha, initial.a, initial.b], dtype=np.float64)
    best, converged = maximise_log_params(
        lambda p, hessian: _value_gradient_hessian(p, data, hessian), start
    )
    params = BgNbdParams(*(float(v) for v in best))
    value, _, _ = _value_gradient_hessian(best, data, hessian=False)
    return BgNbdFit(
        params=params,
        log_likelihood=float(value * data.total),
        customers=int(data.total),
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
    first, second, third = a + b - 1.0 - r, a - 1.0, a + b + x - 1.0
    series = hyp2f1(first, second, third, z)
    broken = ~np.isfinite(series)
    if np.any(broken):
        # SciPy's 2F1 returns NaN near z = 1 when C - A - B (here x + r + 1 - a) is an integer,
        # e.g. r = a, x = 0. The series is analytic in C: the mean of its values at C +- h is its
        # value at C to O(h^2) (h = 1e-5: ~1e-10 relative), as around a = 1 below.
        third_b, z_b = np.broadcast_arrays(np.asarray(third, dtype=np.float64), z)
        shifted = 0.5 * (
            hyp2f1(first, second, third_b + _A_STEP, z_b)
            + hyp2f1(first, second, third_b - _A_STEP, z_b)
        )
        series = np.where(broken, shifted, series)
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
    if (
        x.ndim == 1
        and x.shape == age.shape
        and x.size > _DISTINCT_FROM
        and np.isfinite(x).all()
        and np.isfinite(age).all()
    ):
        # The series depends on the customer through (x, T) alone, and a base has far fewer
        # distinct pairs (frequencies x ages on the day grid) than customers: evaluate it
        # once per pair (the costliest part of a nightly recompute). Same values, bit for bit.
        # The pairs as complex numbers: one sort of a flat array, the values kept exactly.
        pairs, inverse = np.unique(x + 1j * age, return_inverse=True)
        z = t / (alpha + pairs.imag + t)
        series = _one_minus_scaled_hyp2f1(params, pairs.real, z)[..., inverse.ravel()]
    else:
        series = _one_minus_scaled_hyp2f1(params, x, t / (alpha + age + t))
    numerator = (a + b + x - 1.0) / (a - 1.0) * series
    return numerator * np.exp(-np.logaddexp(0.0, _log_alive_odds(params, x, t_x, age)))


# Above this many customers, expected_transactions evaluates 2F1 per distinct (x, T).
_DISTINCT_FROM = 1000


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
