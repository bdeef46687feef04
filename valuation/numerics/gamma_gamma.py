"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005 "RFM and CLV"; Fader & Hardie 2013 note).

A customer with x repeat transactions of mean value m_x: individual transaction values are
Gamma(p, nu), and nu ~ Gamma(q, gamma) across customers. Spend is assumed independent of the
transaction process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from valuation.numerics._optimize import compress_rows, maximise_log_params


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


def _value_and_gradient(params, x, m, weights):
    p, q, gamma = params
    ll = _log_density(p, q, gamma, x, m)
    px = p * x
    log_rest = np.log(gamma + m * x)
    common = digamma(px + q)
    d_p = x * (common - digamma(px) + np.log(m) + np.log(x) - log_rest)
    d_q = common - digamma(q) + np.log(gamma) - log_rest
    d_gamma = q / gamma - (px + q) / (gamma + m * x)
    total = weights.sum()
    gradient = np.array([np.dot(weights, d) for d in (d_p, d_q, d_gamma)]) / total
    return float(np.dot(weights, ll) / total), gradient


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
    (x, m), weights = compress_rows(x, m)
    if initial is None:
        start = np.array([1.0, 2.0, max(float(np.average(m, weights=weights)), 1e-6)])
    else:
        start = np.array([initial.p, initial.q, initial.gamma], dtype=np.float64)
    best, converged = maximise_log_params(lambda v: _value_and_gradient(v, x, m, weights), start)
    params = GammaGammaParams(*(float(v) for v in best))
    total = float(np.dot(weights, _log_density(params.p, params.q, params.gamma, x, m)))
    return GammaGammaFit(
        params=params, log_likelihood=total, customers=int(weights.sum()), converged=converged
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
