"""Value tiers: most valuable (MVC), most growable (MGC), below zero, maintain, and new (no
purchase yet: valued as a prospect, never ranked against customers who bought)."""

from __future__ import annotations

import numpy as np

TIERS = ("mvc", "mgc", "below_zero", "maintain", "new")
RECOMMENDATION = {
    "mvc": "keep",
    "mgc": "grow",
    "below_zero": "shed or re-price",
    "maintain": "maintain",
    "new": "develop",
}


def _growth(growth_potential) -> np.ndarray:
    growth = np.asarray(growth_potential, dtype=np.float64)
    return np.where(np.isfinite(growth), growth, 0.0)


def tier_thresholds(
    predicted_clv, growth_potential, *, mvc_share: float = 0.10, mgc_share: float = 0.20
) -> tuple[float, float]:
    """(CLV threshold, growth threshold).

    The CLV threshold is the (1 - mvc_share) quantile of predicted CLV (linear interpolation),
    so about the top mvc_share of customers are at or above it; the growth threshold is the
    (1 - mgc_share) quantile of growth potential (NaN as 0) among the customers that are
    neither MVC nor below zero (a negative CLV inflates the growth potential, which is measured
    from the CLV up: drawn over them, the threshold would rank customers who can never be MGC).
    +inf when there is nobody to rank (so nobody qualifies).
    """
    for name, share in (("mvc_share", mvc_share), ("mgc_share", mgc_share)):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1")
    clv = np.asarray(predicted_clv, dtype=np.float64).ravel()
    growth = _growth(growth_potential).ravel()
    if clv.shape != growth.shape:
        raise ValueError("predicted_clv and growth_potential must have the same length")
    finite = np.isfinite(clv)
    if not finite.any() or mvc_share == 0.0:
        clv_threshold = np.inf
    else:
        clv_threshold = float(np.quantile(clv[finite], 1.0 - mvc_share))
    growable = ~(finite & (clv >= clv_threshold) & (clv > 0)) & ~(clv < 0)
    if not growable.any() or mgc_share == 0.0:
        growth_threshold = np.inf
    else:
        growth_threshold = float(np.quantile(growth[growable], 1.0 - mgc_share))
    return float(clv_threshold), float(growth_threshold)


def assign_tiers(
    predicted_clv, growth_potential, clv_threshold, growth_threshold, *, new=False
) -> np.ndarray:
    """new where `new` (no purchase yet); else below_zero if clv < 0; else mvc if
    clv >= clv_threshold and clv > 0; else mgc if growth >= growth_threshold and growth > 0;
    else maintain. NaN growth counts as 0.

    Below zero comes before the growth tier: a customer who costs more than they bring is never
    labelled "most growable" (their growth potential, measured from a negative CLV up, is often
    the largest of all); the customer page says what growth they would have at the target share,
    and that they must be re-priced first."""
    clv = np.asarray(predicted_clv, dtype=np.float64)
    growth = _growth(growth_potential)
    clv, growth, new = np.broadcast_arrays(clv, growth, np.asarray(new, dtype=bool))
    mvc = (clv >= clv_threshold) & (clv > 0)
    mgc = (growth >= growth_threshold) & (growth > 0)
    below = clv < 0
    return np.select(
        [new, below, mvc, mgc], ["new", "below_zero", "mvc", "mgc"], default="maintain"
    ).astype(object)
