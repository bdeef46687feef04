"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005 "RFM and CLV"; Fader & Hardie 2013 note).

A customer with x repeat transactions of mean value m_x: individual transaction values are
Gamma(p, nu), and nu ~ Gamma(q, gamma) across customers. Spend is assumed independent of the
transaction process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from valuation.numerics._optimize import maximise_log_params


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
    then needs one logarithm per customer, ln(gamma + m x)."""

    x: np.ndarray
    mx: np.ndarray  # m_x * x, the customer's repeat spend total
    x_values: np.ndarray
    x_weights: np.ndarray
    x_log_x: np.ndarray  # x ln x per distinct x
    sum_x_log_m: float
    sum_log_m: float
    total: float


def _prepare(x, m) -> _Data:
    x_values, codes = np.unique(x, return_inverse=True)
    log_m = np.log(m)
    return _Data(
        x=x,
        mx=m * x,
        x_values=x_values,
        x_weights=np.bincount(codes, minlength=x_values.shape[0]).astype(np.float64),
        x_log_x=x_values * np.log(x_values),
        sum_x_log_m=float(np.dot(x, log_m)),
        sum_log_m=float(log_m.sum()),
        total=float(x.shape[0]),
    )


def _value_and_gradient(params, data: _Data):
    """Mean log-likelihood and gradient w.r.t. (p, q, gamma), Fader & Hardie (2013) eq. 3."""
    p, q, gamma = params
    ux, W = data.x_values, data.x_weights
    pu = p * ux
    per_x = gammaln(pu + q) - gammaln(pu) - gammaln(q) + q * np.log(gamma) + p * data.x_log_x
    log_rest = np.log(gamma + data.mx)
    px_q = p * data.x + q
    value = np.dot(W, per_x) + p * data.sum_x_log_m - data.sum_log_m - np.dot(px_q, log_rest)
    common = digamma(pu + q)
    d_p = np.dot(W, ux * (common - digamma(pu)) + data.x_log_x) + data.sum_x_log_m
    d_p -= np.dot(data.x, log_rest)
    d_q = np.dot(W, common - digamma(q) + np.log(gamma)) - log_rest.sum()
    d_gamma = W.sum() * q / gamma - np.dot(px_q, 1.0 / (gamma + data.mx))
    gradient = np.array([d_p, d_q, d_gamma]) / data.total
    return float(value / data.total), gradient


def _repeat_customers(frequency, monetary_value):
    x = np.asarray(frequency, dtype=np.float64).ravel()
    m = np.asarray(monetary_value, dtype=np.float64).ravel()
    if x.shape != m.shape:
        raise ValueError("frequency and monetary_value must have the same length")
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    return x[keep], m[keep]


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
    best, converged = maximise_log_params(lambda v: _value_and_gradient(v, data), start)
    params = GammaGammaParams(*(float(v) for v in best))
    total = float(_log_density(params.p, params.q, params.gamma, x, m).sum())
    return GammaGammaFit(
        params=params, log_likelihood=total, customers=int(x.shape[0]), converged=converged
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
