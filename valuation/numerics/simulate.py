"""Seeded synthetic customer bases drawn from the BG/NBD and Gamma-Gamma generative models.

Used by the tests (agreement with the `lifetimes` oracle) and by bench/bench_fit.py, and handy
for demo data. Vectorised: one pass per purchase number over the customers still buying.
"""

from __future__ import annotations

import numpy as np

from valuation.numerics.bgnbd import BgNbdParams
from valuation.numerics.gamma_gamma import GammaGammaParams


def simulate_bgnbd(
    params: BgNbdParams, T, *, rng: np.random.Generator, day_grid: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw (frequency, recency, T) for customers observed for T time units after their first
    purchase. With `day_grid` (time units per day, e.g. 1/7 for weeks), purchase times are
    floored to whole days and purchases on the same day merge, as in real transaction logs."""
    age = np.asarray(T, dtype=np.float64).ravel()
    n = age.shape[0]
    rate = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    drop = rng.beta(params.a, params.b, size=n)
    frequency = np.zeros(n)
    recency = np.zeros(n)
    last_day = np.zeros(n)
    clock = np.zeros(n)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1.0, size=active.size) / rate[active]
        bought = clock[active] <= age[active]
        active = active[bought]
        if day_grid is None:
            frequency[active] += 1.0
            recency[active] = clock[active]
        else:
            day = np.floor(clock[active] / day_grid) * day_grid
            new_day = day > last_day[active]
            frequency[active] += new_day
            recency[active] = np.where(new_day, day, recency[active])
            last_day[active] = day
        # After each repeat purchase the customer drops out with probability p.
        active = active[rng.random(active.size) >= drop[active]]
    return frequency, recency, age


def simulate_spend(params: GammaGammaParams, frequency, *, rng: np.random.Generator) -> np.ndarray:
    """Mean value of each customer's repeat transactions (0 where frequency is 0)."""
    x = np.asarray(frequency, dtype=np.float64)
    nu = rng.gamma(params.q, 1.0 / params.gamma, size=x.shape)
    # The sum of x Gamma(p, nu) values is Gamma(p x, nu); the mean divides by x.
    shape = np.where(x > 0, params.p * x, 1.0)
    total = rng.gamma(shape, 1.0 / nu)
    return np.where(x > 0, total / np.where(x > 0, x, 1.0), 0.0)


def simulate_bgnbd_log(
    params: BgNbdParams, first_days, end_day: int, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A transaction log drawn from BG/NBD, time unit weeks: (customer index, day number) of
    every purchase up to `end_day`, the first on each customer's first day (repeat purchases
    on the same day as an earlier one are kept; rfm_summary merges them)."""
    first = np.asarray(first_days, dtype=np.int64).ravel()
    n = first.shape[0]
    rate = rng.gamma(params.r, 1.0 / params.alpha, size=n) / 7.0  # per day
    drop = rng.beta(params.a, params.b, size=n)
    ids, days = [np.arange(n)], [first.copy()]
    clock = first.astype(np.float64)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1.0, size=active.size) / rate[active]
        active = active[clock[active] <= end_day]
        ids.append(active)
        days.append(np.floor(clock[active]).astype(np.int64))
        active = active[rng.random(active.size) >= drop[active]]
    return np.concatenate(ids), np.concatenate(days)
