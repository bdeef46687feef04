"""Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987, "Counting Your Customers:
Who Are They and What Will They Do Next?", Management Science 33(1)).

While alive a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); their
lifetime is exponential with rate mu ~ Gamma(s, beta), so drop-out can happen at any time, not
only after a purchase. x = frequency, t_x = recency, T = age, one time unit.

The likelihood follows Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and
Related Expressions", with its Gaussian hypergeometric terms in log space and transformed so
that they neither overflow nor lose precision for heavy buyers (see `_log_K`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1

from valuation.numerics import bgnbd
from valuation.numerics._optimize import (
    combine_codes,
    compress_rows,
    factorise,
    maximise_log_params,
    sum_of,
)


@dataclass(frozen=True)
class ParetoNbdParams:
    r: float
    alpha: float
    s: float
    beta: float


@dataclass(frozen=True)
class ParetoNbdFit:
    """`converged` as for BG/NBD: False when the data do not identify the parameters."""

    params: ParetoNbdParams
    log_likelihood: float
    customers: int
    converged: bool


def _log_K(r, alpha, s, beta, x, t):
    """ln K(t), K(t) = ∫_t^∞ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ, so that the likelihood's A0 term is
    (r+s+x) (K(t_x) - K(T)).

    With M = max(α, β), m = min(α, β), e the exponent of the (m+τ) factor and A = r+s+x,
    K(t) = (M+t)^-A / A · 2F1(A, e; A+1; z), z = (M-m)/(M+t) (Fader & Hardie 2005, eq. 19-20).
    That 2F1 grows like (1-z)^(1-e) and overflows for heavy buyers (e = r+x when α < β); Euler's
    transformation gives 2F1(A, e; A+1; z) = (1-z)^(1-e) 2F1(1, A+1-e; A+1; z), a series of
    positive terms whose third parameter exceeds its second, with 1-z = (m+t)/(M+t):

        ln K = -A ln(M+t) - ln A + (1-e) (ln(m+t) - ln(M+t)) + ln 2F1(1, A+1-e; A+1; z)

    where A+1-e is r+x (α ≥ β) or s+1 (α < β).
    """
    A = r + s + x
    if alpha >= beta:
        big, small, e = alpha, beta, s + 1.0
    else:
        big, small, e = beta, alpha, r + x
    log_big, log_small = np.log(big + t), np.log(small + t)
    z = (big - small) / (big + t)
    series = hyp2f1(1.0, A + 1.0 - e, A + 1.0, z)
    return -A * log_big - np.log(A) + (1.0 - e) * (log_small - log_big) + np.log(series)


def _log_I(r, alpha, s, beta, x, t_x, age):
    """ln(K(t_x) - K(T)) (= ln ∫_{t_x}^T ...), -inf when t_x == T."""
    k1 = _log_K(r, alpha, s, beta, x, t_x)
    k2 = _log_K(r, alpha, s, beta, x, age)
    with np.errstate(divide="ignore"):
        return k1 + np.log(-np.expm1(np.minimum(k2 - k1, 0.0)))


def _terms(params: ParetoNbdParams, x, t_x, age):
    """(the terms outside the bracket, B1, B2): ln L = outside + logaddexp(B1, B2), with
    B1 = ln[(α+T)^-(r+x) (β+T)^-s] (alive at T) and B2 = ln[s (K(t_x) - K(T))] (died in
    (t_x, T])."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    outside = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    b1 = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    b2 = np.log(s) + _log_I(r, alpha, s, beta, x, t_x, age)
    return outside, b1, b2


def log_likelihood(params: ParetoNbdParams, frequency, recency, T, weights=None) -> float:
    """Total log-likelihood of the customers (each row counted `weights` times)."""
    x, t_x, age = bgnbd._arrays(frequency, recency, T)
    outside, b1, b2 = _terms(params, x, t_x, age)
    ll = outside + np.logaddexp(b1, b2)
    if weights is None:
        return float(ll.sum())
    return float(np.dot(np.asarray(weights, dtype=np.float64), ll))


@dataclass(frozen=True)
class _Data:
    """Distinct (x, t_x, T) rows with weights; the K terms depend on (x, t) pairs only, so they
    are evaluated on the distinct (x, t_x) and (x, T) pairs (about 11,000 each at 1,000,000
    generated customers) and looked up by code."""

    x: np.ndarray
    w: np.ndarray
    T_values: np.ndarray  # distinct ages
    T_code: np.ndarray  # each row's
    pairs_t: tuple[np.ndarray, np.ndarray]  # distinct (x, t_x)
    code_t: np.ndarray
    pairs_T: tuple[np.ndarray, np.ndarray]  # distinct (x, T)
    code_T: np.ndarray
    x_values: np.ndarray
    x_weights: np.ndarray
    total: float


def _pairs(x, t):
    x_values, x_codes = factorise(x)
    t_values, t_codes = factorise(t)
    codes, _, row = combine_codes(x_codes, x_values.shape[0], t_codes, t_values.shape[0])
    return (x[row], t[row]), codes


def _prepare(x, t_x, age, weights=None) -> _Data:
    rows_x, rows_t, rows_T, w = compress_rows(x, t_x, age, weights)
    pairs_t, code_t = _pairs(rows_x, rows_t)
    pairs_T, code_T = _pairs(rows_x, rows_T)
    x_values, x_codes = np.unique(rows_x, return_inverse=True)
    T_values, T_code = factorise(rows_T)
    return _Data(
        x=rows_x,
        w=w,
        T_values=T_values,
        T_code=T_code,
        pairs_t=pairs_t,
        code_t=code_t,
        pairs_T=pairs_T,
        code_T=code_T,
        x_values=x_values,
        x_weights=np.bincount(x_codes.ravel(), weights=w, minlength=x_values.shape[0]),
        total=float(w.sum()),
    )


# Largest shape r of the purchase rates' gamma that a fit may reach. Past it the rates differ
# by about 1/sqrt(r) (3% at 1,000) between customers: practically one rate, which the model's
# heterogeneity cannot identify. Data of that kind (everyone buying at one rate, nobody
# dropping out) let the likelihood climb for ever along r/α fixed, towards α/β where 2F1's
# series converges ever more slowly (z → 1): 150 s of scipy.special.hyp2f1 at 43,000
# customers before the fit was reported as not converged anyway. Stopped at the cap, it is
# reported as not converged in seconds.
_MAX_R = 1e3
# And the shape s of the drop-out rates' gamma, for the same reason: heavy buyers spread
# uniformly over two years (bench_import's 20 purchases each, nobody dropping out) let the
# likelihood climb along s/β fixed, where 2F1(1, s+1; r+s+x+1; z) converges ever more slowly
# (70 s at 5,000 customers, s past 8,000, before the fit was reported as not converged).
_MAX_S = 1e3

_STEP = 1e-5  # relative step of the central differences of ln K


def _log_K_with_gradient(params, pairs):
    """ln K on the pairs and its derivatives w.r.t. (r, α, s, β), by central differences of
    the closed form (ln K is smooth in every parameter, also across α = β)."""
    x, t = pairs
    value = _log_K(params[0], params[1], params[2], params[3], x, t)
    gradient = np.empty((4, value.shape[0]))
    for i in range(4):
        up, down = params.copy(), params.copy()
        up[i] *= 1.0 + _STEP
        down[i] *= 1.0 - _STEP
        gradient[i] = (
            _log_K(up[0], up[1], up[2], up[3], x, t)
            - _log_K(down[0], down[1], down[2], down[3], x, t)
        ) / (2.0 * _STEP * params[i])
    return value, gradient


def _value_and_gradient(params, data: _Data):
    """Mean log-likelihood and its gradient w.r.t. (r, α, s, β)."""
    params = np.asarray(params, dtype=np.float64)
    r, alpha, s, beta = (float(v) for v in params)
    ux, W, N = data.x_values, data.x_weights, data.total
    grad = np.zeros(4)
    value = sum_of(gammaln(r + ux) - gammaln(r), W) + N * (r * np.log(alpha) + s * np.log(beta))
    grad[0] = sum_of(digamma(r + ux) - digamma(r), W) + N * np.log(alpha)
    grad[1] = N * r / alpha
    grad[2] = N * np.log(beta)
    grad[3] = N * s / beta

    # Per distinct age: ln(α+T), ln(β+T); per row only what mixes the two states.
    x, w = data.x, data.w
    log_aT, log_bT = np.log(alpha + data.T_values), np.log(beta + data.T_values)
    code = data.T_code
    b1 = -(r + x) * log_aT[code] - s * log_bT[code]
    k_t, dk_t = _log_K_with_gradient(params, data.pairs_t)
    k_T, dk_T = _log_K_with_gradient(params, data.pairs_T)
    gap = np.minimum(k_T[data.code_T] - k_t[data.code_t], 0.0)
    rho = np.exp(gap)  # K(T)/K(t_x) in [0, 1]; 1 when t_x == T
    died = rho < 1.0
    with np.errstate(divide="ignore"):
        b2 = np.log(s) + k_t[data.code_t] + np.log(-np.expm1(gap))
    value += sum_of(np.logaddexp(b1, b2), w)
    w2 = w * np.exp(-np.logaddexp(0.0, b1 - b2))  # weight of "died in (t_x, T]"
    w1 = w - w2
    n_T = data.T_values.shape[0]
    by_T = np.bincount(code, weights=w1, minlength=n_T)
    by_T_x = np.bincount(code, weights=w1 * x, minlength=n_T)
    grad[0] -= sum_of(log_aT, by_T)
    grad[1] -= sum_of(1.0 / (alpha + data.T_values), r * by_T + by_T_x)
    grad[2] -= sum_of(log_bT, by_T)
    grad[3] -= s * sum_of(1.0 / (beta + data.T_values), by_T)
    grad[2] += sum_of(w2) / s
    # d ln(K1 - K2) = (d ln K1 - ρ d ln K2) / (1 - ρ), summed per pair.
    scale = np.where(died, w2 / np.where(died, 1.0 - rho, 1.0), 0.0)
    on_t = np.bincount(data.code_t, weights=scale, minlength=k_t.shape[0])
    on_T = np.bincount(data.code_T, weights=scale * rho, minlength=k_T.shape[0])
    grad += dk_t @ on_t - dk_T @ on_T
    return value / N, grad / N


def _value_gradient_hessian(params, data: _Data, hessian: bool = True):
    """With the Hessian by forward differences of the gradient (4 more evaluations), enough for
    Newton's method to converge in a few steps; the gradient it stops on is exact."""
    params = np.asarray(params, dtype=np.float64)
    value, gradient = _value_and_gradient(params, data)
    if not hessian:
        return value, gradient, None
    second = np.empty((4, 4))
    for i in range(4):
        moved = params.copy()
        step = 1e-6 * params[i]
        moved[i] += step
        second[i] = (_value_and_gradient(moved, data)[1] - gradient) / step
    return value, gradient, (second + second.T) / 2.0


def fit(
    frequency, recency, T, *, weights=None, initial: ParetoNbdParams | None = None
) -> ParetoNbdFit:
    """Maximum-likelihood fit (Newton's method on log-parameters, see _optimize)."""
    x, t_x, age = bgnbd._arrays(frequency, recency, T)
    if x.size == 0:
        raise ValueError("cannot fit Pareto/NBD to zero customers")
    data = _prepare(x, t_x, age, weights)
    if initial is None:
        mean_age = max(sum_of(data.T_values[data.T_code], data.w) / data.total, 1e-3)
        start = np.array([1.0, mean_age, 1.0, mean_age])
    else:
        start = np.array([initial.r, initial.alpha, initial.s, initial.beta], dtype=np.float64)
    # A gradient costs ~30 ms at 1,000,000 customers and the Hessian four more: BFGS updates
    # between true Hessians. Capped so that data the model cannot fit (no drop-out at all,
    # say) cost seconds, not a minute, before they are reported as not converged.
    best, converged = maximise_log_params(
        lambda p, hessian: _value_gradient_hessian(p, data, hessian),
        start,
        newton_iterations=40,
        fallback_evaluations=30,
        quasi_newton=True,
        upper=np.array([np.log(_MAX_R), np.inf, np.log(_MAX_S), np.inf]),
    )
    value, _ = _value_and_gradient(best, data)
    return ParetoNbdFit(
        params=ParetoNbdParams(*(float(v) for v in best)),
        log_likelihood=float(value * data.total),
        customers=round(data.total),
        converged=converged,
    )


def p_alive(params: ParetoNbdParams, frequency, recency, T) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + s (α+T)^(r+x) (β+T)^s (K(t_x) - K(T))) (Fader & Hardie
    2005, eq. 18), as exp(-softplus(B2 - B1))."""
    x, t_x, age = bgnbd._arrays(frequency, recency, T)
    _, b1, b2 = _terms(params, x, t_x, age)
    return np.exp(-np.logaddexp(0.0, b2 - b1))


def _survival_integral(s, beta_T, t):
    """[1 - (β+T / (β+T+t))^(s-1)] / (s-1), and its limit ln((β+T+t)/(β+T)) at s = 1."""
    log_ratio = np.log1p(t / beta_T)
    if abs(s - 1.0) < 1e-9:
        return log_ratio
    return -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)


def expected_transactions(params: ParetoNbdParams, t, frequency, recency, T) -> np.ndarray:
    """E[X(T, T+t) | x, t_x, T] = (r+x)(β+T)/(α+T) · [1 - ((β+T)/(β+T+t))^(s-1)]/(s-1) ·
    P(alive) (Fader & Hardie 2005, eq. 21); `t` broadcasts."""
    x, t_x, age = bgnbd._arrays(frequency, recency, T)
    t = np.asarray(t, dtype=np.float64)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    rate = (r + x) / (alpha + age) * (beta + age)
    return rate * _survival_integral(s, beta + age, t) * p_alive(params, x, t_x, age)


def expected_transactions_new_customer(params: ParetoNbdParams, t) -> np.ndarray:
    """Unconditional E[X(t)] = rβ/(α(s-1)) [1 - (β/(β+t))^(s-1)] (Schmittlein et al. 1987)."""
    t = np.asarray(t, dtype=np.float64)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    return r / alpha * beta * _survival_integral(s, beta, t)
