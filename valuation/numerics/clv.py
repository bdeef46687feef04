"""Discounted customer lifetime value, cost to serve, share of customer and growth potential.

Months are the discounting period; the purchase model's time unit (weeks by default) is
converted with `time_units_per_month` (30.4375 days / 7 = 4.348 weeks per average month).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from valuation.numerics import bgnbd as _bgnbd

WEEKS_PER_MONTH = 30.4375 / 7.0


def monthly_discount_factors(horizon_months: int, annual_rate: float) -> np.ndarray:
    """1 / (1 + rate)^(m / 12) for m = 1..horizon_months."""
    if horizon_months < 0:
        raise ValueError("horizon_months must be >= 0")
    if annual_rate <= -1.0:
        raise ValueError("annual_rate must be > -1")
    months = np.arange(1, int(horizon_months) + 1, dtype=np.float64)
    return np.power(1.0 + float(annual_rate), -months / 12.0)


class PurchaseForecast(Protocol):
    """A fitted purchase model (valuation.numerics.purchase.PurchaseModel)."""

    def expected_transactions(self, t, frequency, recency, T) -> np.ndarray: ...


def predicted_clv(
    model: PurchaseForecast | _bgnbd.BgNbdParams,
    frequency,
    recency,
    T,
    margin_per_transaction,
    *,
    horizon_months: int = 36,
    annual_discount_rate: float = 0.10,
    time_units_per_month: float = WEEKS_PER_MONTH,
) -> np.ndarray:
    """Σ_m [E X(m) - E X(m-1)] * margin_per_transaction / (1 + rate)^(m/12), m = 1..H.

    E X(m) is the purchase model's conditional expected number of transactions in the next m
    months (BG/NBD when given its parameters). Gross of cost to serve (subtract
    `expected_cost_to_serve` for the net figure).
    """
    discount = monthly_discount_factors(horizon_months, annual_discount_rate)
    x = np.asarray(frequency, dtype=np.float64)
    months = np.arange(0, int(horizon_months) + 1, dtype=np.float64)
    t = (months * float(time_units_per_month)).reshape((-1,) + (1,) * x.ndim)
    if isinstance(model, _bgnbd.BgNbdParams):
        cumulative = _bgnbd.expected_transactions(model, t, frequency, recency, T)
    else:
        cumulative = model.expected_transactions(t, frequency, recency, T)
    increments = np.diff(cumulative, axis=0)
    weighted = np.tensordot(discount, increments, axes=(0, 0))
    return weighted * np.asarray(margin_per_transaction, dtype=np.float64)


def expected_cost_to_serve(
    annual_cost_to_serve, p_alive, *, horizon_months: int = 36, annual_discount_rate: float = 0.10
) -> np.ndarray:
    """Σ_m annual_cost_to_serve / 12 * p_alive / (1 + rate)^(m/12), m = 1..H."""
    discount_sum = monthly_discount_factors(horizon_months, annual_discount_rate).sum()
    annual = np.asarray(annual_cost_to_serve, dtype=np.float64)
    return annual / 12.0 * np.asarray(p_alive, dtype=np.float64) * discount_sum


def _known_wallet(wallet_annual) -> tuple[np.ndarray, np.ndarray]:
    wallet = np.asarray(wallet_annual, dtype=np.float64)
    known = np.isfinite(wallet) & (wallet > 0)
    return wallet, known


def share_of_customer(revenue_12m, wallet_annual) -> np.ndarray:
    """Trailing-12-month revenue / annual wallet, capped at 1.0; NaN where the wallet is
    unknown (NaN) or not positive."""
    wallet, known = _known_wallet(wallet_annual)
    revenue = np.asarray(revenue_12m, dtype=np.float64)
    revenue, wallet, known = np.broadcast_arrays(revenue, wallet, known)
    share = np.divide(revenue, wallet, out=np.full(wallet.shape, np.nan), where=known)
    return np.where(known, np.clip(share, 0.0, 1.0), np.nan)


def growth_potential(
    wallet_annual,
    target_share,
    margin_ratio,
    p_alive,
    predicted_clv,
    *,
    horizon_months: int = 36,
    annual_discount_rate: float = 0.10,
) -> np.ndarray:
    """max(0, Σ_m wallet * target_share * margin_ratio / 12 * p_alive * discount(m) - CLV).

    What the customer would be worth at the target share of wallet over the same horizon, less
    what we already expect (predicted CLV); NaN where the wallet is unknown (NaN or <= 0).
    """
    wallet, known = _known_wallet(wallet_annual)
    discount_sum = monthly_discount_factors(horizon_months, annual_discount_rate).sum()
    potential = (
        np.where(known, wallet, 0.0)
        * np.asarray(target_share, dtype=np.float64)
        * np.asarray(margin_ratio, dtype=np.float64)
        / 12.0
        * np.asarray(p_alive, dtype=np.float64)
        * discount_sum
    )
    gap = np.maximum(0.0, potential - np.asarray(predicted_clv, dtype=np.float64))
    return np.where(known, gap, np.nan)


@dataclass(frozen=True)
class SimpleEstimate:
    """Output of the fallback estimate: expected transactions over the horizon, P(alive), CLV."""

    expected_transactions: np.ndarray
    p_alive: np.ndarray
    clv: np.ndarray


def simple_clv_estimate(
    frequency,
    recency,
    T,
    margin_per_transaction,
    *,
    horizon_months: int = 36,
    annual_discount_rate: float = 0.10,
    time_units_per_month: float = WEEKS_PER_MONTH,
) -> SimpleEstimate:
    """Fallback when too few customers exist to fit the population models (docs/valuation.md).

    Each customer keeps buying at their historic repeat rate lambda = x / T (transactions per
    time unit since the first purchase); customers without a repeat purchase (or with T == 0)
    get the pooled rate Σx / ΣT of the customers given. P(alive) is the chance that a customer
    still buying at that rate would have made no purchase in the silence since the last one:
    exp(-lambda * (T - t_x)). The expected transactions in each future month are
    lambda * P(alive) * time_units_per_month, valued at margin_per_transaction and discounted
    monthly like `predicted_clv`.
    """
    x = np.asarray(frequency, dtype=np.float64)
    t_x = np.asarray(recency, dtype=np.float64)
    age = np.asarray(T, dtype=np.float64)
    x, t_x, age = np.broadcast_arrays(x, t_x, age)
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T")
    total_age = float(age.sum())
    pooled = float(x.sum()) / total_age if total_age > 0 else 0.0
    own = (x > 0) & (age > 0)
    rate = np.where(own, np.divide(x, age, out=np.zeros(x.shape), where=own), pooled)
    alive = np.exp(-rate * (age - t_x))
    per_month = rate * alive * float(time_units_per_month)
    discount = monthly_discount_factors(horizon_months, annual_discount_rate)
    clv = per_month * discount.sum() * np.asarray(margin_per_transaction, dtype=np.float64)
    return SimpleEstimate(
        expected_transactions=per_month * int(horizon_months), p_alive=alive, clv=clv
    )
