"""The value of a customer who has not bought yet: a prospect (docs/valuation.md, "Prospects").

A prospect is worth what a newly acquired customer is worth to the population model, times the
chance that they become one, which the firm's own history shows: of the customers first seen at
least a window ago, the share who bought within that window of being first seen. A prospect
who has let a whole window pass without buying is less likely to: for them, of the customers
first seen at least two windows ago who had not bought in the first, the share who bought in
the second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from valuation.numerics.clv import monthly_discount_factors

# A prospect has this long to buy to count as converted (and the customers counted were first
# seen at least this long ago, so each had the whole window).
CONVERSION_WINDOW_DAYS = 365
# Below this many customers seen long enough, the observed share says little: assume instead.
MIN_PROSPECTS = 30
ASSUMED_CONVERSION = 0.10
# After a window without a purchase, when too few customers show what happens next: a
# judgement, not a measurement (half the first window's rate).
ASSUMED_LATE_FACTOR = 0.5


@dataclass(frozen=True)
class Conversion:
    rate: float
    seen: int  # customers first seen at least the window before the fit's date
    converted: int  # of those, who bought within the window of being first seen
    observed: bool  # False: too few seen, `ASSUMED_CONVERSION` is used


def conversion_rate(
    seen: int,
    converted: int,
    *,
    min_prospects: int = MIN_PROSPECTS,
    assumed: float = ASSUMED_CONVERSION,
) -> Conversion:
    """converted / seen when at least `min_prospects` were seen, else the assumed rate."""
    if seen < 0 or converted < 0 or converted > seen:
        raise ValueError("need 0 <= converted <= seen")
    if not 0.0 <= assumed <= 1.0:
        raise ValueError("assumed must be between 0 and 1")
    if seen >= max(min_prospects, 1):
        return Conversion(converted / seen, seen, converted, True)
    return Conversion(float(assumed), seen, converted, False)


def late_conversion_rate(
    seen: int, converted: int, first: Conversion, *, min_prospects: int = MIN_PROSPECTS
) -> Conversion:
    """The rate for a prospect who let a whole window pass: converted / seen of those who had
    not bought in their first window, or, with too few, `ASSUMED_LATE_FACTOR` × the first
    window's rate."""
    return conversion_rate(
        seen, converted, min_prospects=min_prospects, assumed=first.rate * ASSUMED_LATE_FACTOR
    )


def new_customer_value(
    cumulative_repeat,
    margin_per_transaction: float,
    *,
    annual_discount_rate: float = 0.10,
) -> float:
    """Discounted expected margin of a customer acquired now: the first purchase (now, not
    discounted) plus the expected repeat purchases of each month, discounted monthly as
    `clv.predicted_clv` does.

    `cumulative_repeat[m]` is the expected number of repeat transactions in the first m months
    (m = 0..H, so its first entry is 0), e.g. BG/NBD's unconditional E[X(t)] for a new
    customer (`bgnbd.expected_transactions_new_customer`) at t = m months.
    """
    cumulative = np.asarray(cumulative_repeat, dtype=np.float64).ravel()
    if cumulative.size < 1:
        raise ValueError("cumulative_repeat needs at least the value at month 0")
    increments = np.diff(cumulative)
    discount = monthly_discount_factors(increments.size, annual_discount_rate)
    return float((1.0 + increments @ discount) * margin_per_transaction)


def prospect_value(conversion: Conversion, value_when_converted: float) -> float:
    """What a customer who has not bought yet is worth: conversion rate × new customer value."""
    return conversion.rate * value_when_converted
