"""Experience score after Rapp & Martin's brand experience, BE = (P + C + O) x T, on 0-1 terms.

P: product quality, C: interactive experience, O: others' opinion, T: tenure factor. Missing
terms (NaN) are left out of the mean, never counted as zero.
"""

from __future__ import annotations

import numpy as np


def _nan_mean(*terms) -> np.ndarray:
    """Mean of the finite terms element-wise; NaN where none is available (no warning)."""
    stacked = np.stack(np.broadcast_arrays(*(np.asarray(t, dtype=np.float64) for t in terms)))
    present = np.isfinite(stacked)
    count = present.sum(axis=0)
    total = np.where(present, stacked, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def rating_to_unit(rating_1_to_5) -> np.ndarray:
    """Map a 1-5 rating to 0-1: (r - 1) / 4. NaN stays NaN."""
    rating = np.asarray(rating_1_to_5, dtype=np.float64)
    return (rating - 1.0) / 4.0


def tenure_factor(tenure_days, *, half_life_days: float = 365.0) -> np.ndarray:
    """1 - 0.5 * exp(-ln 2 * days / half_life): 0.5 for a new customer, 0.75 after one
    half-life, 0.875 after two, tending to 1. Negative tenure counts as 0."""
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    days = np.maximum(np.asarray(tenure_days, dtype=np.float64), 0.0)
    return 1.0 - 0.5 * np.exp(-np.log(2.0) * days / float(half_life_days))


def interactive_experience(on_time_share, mean_satisfaction_unit) -> np.ndarray:
    """C: mean of the share of inquiries/complaints answered on time and the mean satisfaction
    rating (0-1), whichever are available; NaN when neither is."""
    return _nan_mean(on_time_share, mean_satisfaction_unit)


def experience_score(product_quality, interactive, others_opinion, tenure) -> np.ndarray:
    """mean(available P, C, O) * T, in 0-1; NaN when none of P, C, O is available."""
    return _nan_mean(product_quality, interactive, others_opinion) * np.asarray(
        tenure, dtype=np.float64
    )
