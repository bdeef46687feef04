"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005 "RFM and CLV"; Fader & Hardie 2013 note).

A customer with x repeat transactions of mean value m_x: individual transaction values are
Gamma(p, nu), and nu ~ Gamma(q, gamma) across customers. Spend is assumed independent of the
transaction process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln, zeta

from valuation.numerics._optimize import factorise, maximise_log_params, sum_of


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    customers: int
    converged: bool


def _log_density(p, q, gamma, x, m):
    """log f(m_x | p, q, gamma, x) (Fader & Hardie 2013, eq. 3)."""
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )


@dataclass(frozen=True)
class _Data:
    """Customers prepared for repeated likelihood evaluation during a fit: the terms in x
    alone are evaluated per distinct frequency, the parameter-free sums once; each evaluation
    then needs one logarithm and one reciprocal per customer, of gamma + m x, written into
    preallocated scratch rows."""

    x: np.ndarray
    mx: np.ndarray  # m_x * x, the customer's repeat spend total
    x_values: np.ndarray
    x_weights: np.ndarray
    x_log_x: np.ndarray  # x ln x per distinct x
    sum_x_log_m: float
    sum_log_m: float
    total: float
    work: np.ndarray  # scratch rows, one column per customer


def _prepare(x, m) -> _Data:
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    m = np.ascontiguousarray(m, dtype=np.float64).ravel()
    x_values, codes = factorise(x)
    log_m = np.log(m)
    return _Data(
        x=x,
        mx=m * x,
        x_values=x_values,
        x_weights=np.bincount(codes, minlength=x_values.shape[0]).astype(np.float64),
        x_log_x=x_values * np.log(x_values),
        sum_x_log_m=sum_of(log_m, x),
        sum_log_m=sum_of(log_m),
        total=float(x.shape[0]),
        work=np.empty((2, x.shape[0])),
    )


def _value_gradient_hessian(params, data: _Data, hessian: bool = True):
    """Mean log-likelihood, gradient and (optionally) Hessian w.r.t. (p, q, gamma), Fader &
    Hardie (2013) eq. 3. Per customer only ln(gamma + m x) and its derivatives remain."""
    p, q, gamma = (float(v) for v in params)
    ux, W, x, N = data.x_values, data.x_weights, data.x, data.total
    pu = p * ux
    per_x = gammaln(pu + q) - gammaln(pu) - gammaln(q) + p * data.x_log_x
    log_rest, inverse = data.work
    np.add(data.mx, gamma, out=inverse)
    np.log(inverse, out=log_rest)
    np.reciprocal(inverse, out=inverse)
    sum_log, x_log = sum_of(log_rest), sum_of(log_rest, x)
    sum_inv, x_inv = sum_of(inverse), sum_of(inverse, x)
    value = sum_of(per_x, W) + N * q * np.log(gamma) + p * data.sum_x_log_m - data.sum_log_m
    value -= p * x_log + q * sum_log
    common = digamma(pu + q)
    grad = np.array(
        [
            sum_of(ux * (common - digamma(pu)) + data.x_log_x, W) + data.sum_x_log_m - x_log,
            sum_of(common, W) - N * (digamma(q) - np.log(gamma)) - sum_log,
            N * q / gamma - p * x_inv - q * sum_inv,
        ]
    )
    if not hessian:
        return float(value / N), grad / N, None
    inverse *= inverse
    sum_inv2, x_inv2 = sum_of(inverse), sum_of(inverse, x)
    trigamma_common = zeta(2.0, pu + q)  # zeta(2, z) is the trigamma function
    hess = np.empty((3, 3))
    hess[0, 0] = sum_of(ux * ux * (trigamma_common - zeta(2.0, pu)), W)
    hess[0, 1] = hess[1, 0] = sum_of(ux * trigamma_common, W)
    hess[0, 2] = hess[2, 0] = -x_inv
    hess[1, 1] = sum_of(trigamma_common, W) - N * zeta(2.0, q)
    hess[1, 2] = hess[2, 1] = N / gamma - sum_inv
    hess[2, 2] = -N * q / gamma**2 + p * x_inv2 + q * sum_inv2
    return float(value / N), grad / N, hess / N


def _value_and_gradient(params, data: _Data):
    """Mean log-likelihood and gradient w.r.t. (p, q, gamma)."""
    value, gradient, _ = _value_gradient_hessian(params, data, hessian=False)
    return value, gradient


def _repeat_customers(frequency, monetary_value):
    x = np.asarray(frequency, dtype=np.float64).ravel()
    m = np.asarray(monetary_value, dtype=np.float64).ravel()
    if x.shape != m.shape:
        raise ValueError("frequency and monetary_value must have the same length")
    keep = x > 0
    keep &= m > 0  # also drops NaN
    keep &= m < np.inf
    # Index arrays gather much faster than boolean masks select.
    rows = np.flatnonzero(keep)
    return x.take(rows), m.take(rows)


def log_likelihood(params: GammaGammaParams, frequency, monetary_value) -> float:
    """Total log-likelihood over the customers with frequency > 0 and monetary_value > 0."""
    x, m = _repeat_customers(frequency, monetary_value)
    return float(_log_density(params.p, params.q, params.gamma, x, m).sum())


def fit(frequency, monetary_value, *, initial: GammaGammaParams | None = None) -> GammaGammaFit:
    """Maximum-likelihood fit over customers with frequency > 0 and monetary_value > 0."""
    x, m = _repeat_customers(frequency, monetary_value)
    if x.shape[0] == 0:
        raise ValueError("Gamma-Gamma needs at least one customer with a repeat transaction")
    if initial is None:
        start = np.array([1.0, 2.0, max(float(m.mean()), 1e-6)])
    else:
        start = np.array([initial.p, initial.q, initial.gamma], dtype=np.float64)
    data = _prepare(x, m)
    best, converged = maximise_log_params(
        lambda v, hessian: _value_gradient_hessian(v, data, hessian), start
    )
    params = GammaGammaParams(*(float(v) for v in best))
    value, _, _ = _value_gradient_hessian(best, data, hessian=False)
    return GammaGammaFit(
        params=params,
        log_likelihood=float(value * data.total),
        customers=int(x.shape[0]),
        converged=converged,
    )


def population_mean(params: GammaGammaParams) -> float:
    """E[Z] = p * gamma / (q - 1), the mean transaction value across the population (q > 1)."""
    if params.q <= 1.0:
        return float("inf")
    return params.p * params.gamma / (params.q - 1.0)


def conditional_expected_value(params: GammaGammaParams, frequency, monetary_value) -> np.ndarray:
    """E[Z | x, m_x] = (p (gamma + x m_x)) / (p x + q - 1) (Fader & Hardie 2013, eq. 5).

    A weighted mean of the population mean and the customer's own mean; for x == 0 (or an
    unknown spend) it is the population mean p * gamma / (q - 1).
    """
    p, q, gamma = params.p, params.q, params.gamma
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    x, m = np.broadcast_arrays(x, m)
    own = (x > 0) & np.isfinite(m)
    xs = np.where(own, x, 0.0)
    ms = np.where(own, m, 0.0)
    return p * (gamma + xs * ms) / (p * xs + q - 1.0)
