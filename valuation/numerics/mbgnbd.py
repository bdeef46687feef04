"""MBG/NBD purchase model (Batislam, Denizel & Filiztekin 2007, "Empirical validation and
comparison of models for customer base analysis", IJRM 24(3)).

As BG/NBD, but a customer may also drop out right after the first purchase, so a customer who
never repeated is not certainly alive. x = frequency, t_x = recency, T = age, one time unit.
Purchase rate lambda ~ Gamma(r, alpha), drop-out probability p ~ Beta(a, b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln, zeta

from valuation.numerics import bgnbd
from valuation.numerics._optimize import compress_rows, maximise_log_params, sum_of


@dataclass(frozen=True)
class MbgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class MbgNbdFit:
    """`converged` as for BG/NBD: False when the data do not identify the parameters."""

    params: MbgNbdParams
    log_likelihood: float
    customers: int
    converged: bool


def _log_odds(params: MbgNbdParams, x, t_x, age):
    """log of a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x): dropped out at the last purchase (or at
    the first, x = 0) against alive at T. Defined for every customer, unlike BG/NBD."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    return np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))


def log_likelihood(params: MbgNbdParams, frequency, recency, T, weights=None) -> float:
    """Total log-likelihood of the customers (each row counted `weights` times):

    ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+1) − ln B(a, b) − (r+x) ln(α+T) + softplus(G),
    G the log odds above."""
    x, t_x, age = bgnbd._arrays(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    ll = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + betaln(a, b + x + 1.0)
        - betaln(a, b)
        - (r + x) * np.log(alpha + age)
        + np.logaddexp(0.0, _log_odds(params, x, t_x, age))
    )
    if weights is None:
        return float(ll.sum())
    return float(np.dot(np.asarray(weights, dtype=np.float64), ll))


@dataclass(frozen=True)
class _Data:
    """Distinct (x, t_x, T) rows with their weights, and the frequencies' own table (the terms
    in x alone are evaluated once per distinct frequency)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    w: np.ndarray
    x_values: np.ndarray
    x_weights: np.ndarray
    total: float


def _prepare(x, t_x, age, weights=None) -> _Data:
    rows_x, rows_t, rows_T, w = compress_rows(x, t_x, age, weights)
    x_values, x_codes = np.unique(rows_x, return_inverse=True)
    return _Data(
        x=rows_x,
        t_x=rows_t,
        T=rows_T,
        w=w,
        x_values=x_values,
        x_weights=np.bincount(x_codes.ravel(), weights=w, minlength=x_values.shape[0]),
        total=float(w.sum()),
    )


def _value_gradient_hessian(params, data: _Data, hessian: bool = True):
    """Mean log-likelihood, gradient and (optionally) Hessian w.r.t. (r, alpha, a, b)."""
    r, alpha, a, b = (float(v) for v in params)
    ux, W, N = data.x_values, data.x_weights, data.total
    grad = np.zeros(4)
    hess = np.zeros((4, 4))

    # Terms in x alone, per distinct frequency: ln Γ(r+x) - ln Γ(r) + ln B(a, b+x+1) - ln B(a, b).
    rx, bx1, abx1 = r + ux, b + ux + 1.0, a + b + ux + 1.0
    value = sum_of(gammaln(rx) - gammaln(r) + betaln(a, bx1) - betaln(a, b), W)
    value += N * r * np.log(alpha)
    d_ab = digamma(a + b) - digamma(abx1)
    grad[0] = sum_of(digamma(rx) - digamma(r), W) + N * np.log(alpha)
    grad[1] = N * r / alpha
    grad[2] = sum_of(d_ab, W)
    grad[3] = sum_of(digamma(bx1) - digamma(b) + d_ab, W)
    if hessian:
        t_ab = zeta(2.0, a + b) - zeta(2.0, abx1)  # zeta(2, z) is the trigamma function
        hess[0, 0] = sum_of(zeta(2.0, rx) - zeta(2.0, r), W)
        hess[0, 1] = N / alpha
        hess[1, 1] = -N * r / alpha**2
        hess[2, 2] = hess[2, 3] = sum_of(t_ab, W)
        hess[3, 3] = sum_of(zeta(2.0, bx1) - zeta(2.0, b) + t_ab, W)

    # Per row: -(r+x) ln(α+T) + softplus(G), G = ln a - ln(b+x) + (r+x) D,
    # D = ln(α+T) - ln(α+t_x); G's derivatives are (D, (r+x) E, 1/a, -c), E = 1/(α+T) - 1/(α+t_x),
    # c = 1/(b+x).
    x, w = data.x, data.w
    rxr = r + x
    log_T, log_t = np.log(alpha + data.T), np.log(alpha + data.t_x)
    inv_T, inv_t = 1.0 / (alpha + data.T), 1.0 / (alpha + data.t_x)
    c = 1.0 / (b + x)
    D = log_T - log_t
    E = inv_T - inv_t
    G = np.log(a) + np.log(c) + rxr * D
    value += -sum_of(rxr * log_T, w) + sum_of(np.logaddexp(0.0, G), w)
    grad[0] -= sum_of(log_T, w)
    grad[1] -= sum_of(rxr * inv_T, w)
    sigma = np.exp(-np.logaddexp(0.0, -G))  # σ(G)
    ws = w * sigma
    rxE = rxr * E
    grad[0] += sum_of(D, ws)
    grad[1] += sum_of(rxE, ws)
    grad[2] += sum_of(ws) / a
    grad[3] -= sum_of(c, ws)
    if hessian:
        hess[0, 1] -= sum_of(inv_T, w)
        hess[1, 1] += sum_of(rxr * inv_T * inv_T, w)
        # σ G'' + σ(1-σ) G' G'^T
        hess[0, 1] += sum_of(E, ws)
        hess[1, 1] -= sum_of(rxr * (inv_T * inv_T - inv_t * inv_t), ws)
        hess[2, 2] -= sum_of(ws) / a**2
        hess[3, 3] += sum_of(c * c, ws)
        g = np.stack([D, rxE, np.full_like(D, 1.0 / a), -c])
        s2 = w * sigma * (1.0 - sigma)
        hess += np.einsum("in,jn,n->ij", g, g, s2)
        hess = np.triu(hess) + np.triu(hess, 1).T
        hess /= N
    return value / N, grad / N, hess if hessian else None


def fit(frequency, recency, T, *, weights=None, initial: MbgNbdParams | None = None) -> MbgNbdFit:
    """Maximum-likelihood fit (Newton's method with the analytic Hessian on log-parameters)."""
    x, t_x, age = bgnbd._arrays(frequency, recency, T)
    if x.size == 0:
        raise ValueError("cannot fit MBG/NBD to zero customers")
    data = _prepare(x, t_x, age, weights)
    if initial is None:
        mean_age = sum_of(data.T, data.w) / data.total
        start = np.array([1.0, max(mean_age, 1e-3), 1.0, 1.0])
    else:
        start = np.array([initial.r, initial.alpha, initial.a, initial.b], dtype=np.float64)
    best, converged = maximise_log_params(
        lambda p, hessian: _value_gradient_hessian(p, data, hessian), start
    )
    value, _, _ = _value_gradient_hessian(best, data, hessian=False)
    return MbgNbdFit(
        params=MbgNbdParams(*(float(v) for v in best)),
        log_likelihood=float(value * data.total),
        customers=round(data.total),
        converged=converged,
    )


def p_alive(params: MbgNbdParams, frequency, recency, T) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x)), in log space; below 1
    also for customers without a repeat purchase."""
    x, t_x, age = bgnbd._arrays(frequency, recency, T)
    return np.exp(-np.logaddexp(0.0, _log_odds(params, x, t_x, age)))


def _as_bgnbd(params: MbgNbdParams) -> bgnbd.BgNbdParams:
    """MBG/NBD's expectation is BG/NBD's numerator with b + 1: (a+b+x)/(a-1) · [1 -
    ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; z)], the same Euler-transformed series."""
    return bgnbd.BgNbdParams(params.r, params.alpha, params.a, params.b + 1.0)


def _numerator(params: MbgNbdParams, t, x, age):
    if abs(params.a - 1.0) < bgnbd._A_NEAR_ONE:
        low = MbgNbdParams(params.r, params.alpha, 1.0 - bgnbd._A_STEP, params.b)
        high = MbgNbdParams(params.r, params.alpha, 1.0 + bgnbd._A_STEP, params.b)
        return 0.5 * (_numerator(low, t, x, age) + _numerator(high, t, x, age))
    shifted = _as_bgnbd(params)
    z = t / (params.alpha + age + t)
    a, b = params.a, params.b
    return (a + b + x) / (a - 1.0) * bgnbd._one_minus_scaled_hyp2f1(shifted, x, z)


def expected_transactions(params: MbgNbdParams, t, frequency, recency, T) -> np.ndarray:
    """E[X(T, T+t) | x, t_x, T] (Batislam et al. 2007, eq. 9); `t` broadcasts."""
    x, t_x, age = bgnbd._arrays(frequency, recency, T)
    t = np.asarray(t, dtype=np.float64)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    return _numerator(params, t, x, age) * np.exp(
        -np.logaddexp(0.0, _log_odds(params, x, t_x, age))
    )


def expected_transactions_new_customer(params: MbgNbdParams, t) -> np.ndarray:
    """Unconditional E[X(t)] = b/(a-1) [1 - (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))]: the
    conditional expectation at x = t_x = T = 0."""
    t = np.asarray(t, dtype=np.float64)
    zero = np.zeros_like(t)
    return expected_transactions(params, t, zero, zero, zero)
