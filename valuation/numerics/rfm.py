"""Frequency, recency, age and mean repeat spend per customer from a transaction log."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RFM:
    """Summary arrays, one row per customer, in ascending `customer_ids` order.

    frequency: repeat transactions (distinct purchase days - 1); recency: last - first purchase;
    T: observation end - first purchase (both in time units); monetary_value: mean value of the
    repeat transactions (the first one excluded), 0 when frequency is 0.
    """

    customer_ids: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray


def rfm_summary(customer_ids, dates, amounts, observation_end, time_unit_days=7.0) -> RFM:
    """Summarise a transaction log as lifetimes' `summary_data_from_transaction_data` does.

    Transactions on the same calendar day merge into one (amounts summed). Transactions after
    `observation_end` are ignored, so customers whose first purchase is later are excluded.
    """
    ids = np.asarray(customer_ids)
    days = np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
    values = np.asarray(amounts, dtype=np.float64)
    if not (ids.shape == days.shape == values.shape) or ids.ndim != 1:
        raise ValueError("customer_ids, dates and amounts must be 1-d arrays of the same length")
    if time_unit_days <= 0:
        raise ValueError("time_unit_days must be positive")
    end = np.datetime64(observation_end, "D").astype(np.int64)

    keep = days <= end
    ids, days, values = ids[keep], days[keep], values[keep]
    unique_ids, codes = np.unique(ids, return_inverse=True)
    n = unique_ids.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.float64)
        return RFM(unique_ids, empty, empty.copy(), empty.copy(), empty.copy())

    # One transaction per (customer, day): sort by customer then day, merge equal neighbours.
    order = np.lexsort((days, codes))
    codes, days, values = codes[order], days[order], values[order]
    starts = np.flatnonzero(
        np.concatenate(([True], (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])))
    )
    t_codes = codes[starts]
    t_days = days[starts]
    t_values = np.add.reduceat(values, starts)

    counts = np.bincount(t_codes, minlength=n)
    first_index = np.concatenate(([0], np.cumsum(counts)[:-1]))
    last_index = first_index + counts - 1
    first_day = t_days[first_index]
    last_day = t_days[last_index]
    totals = np.bincount(t_codes, weights=t_values, minlength=n)

    frequency = (counts - 1).astype(np.float64)
    repeat_total = totals - t_values[first_index]
    monetary = np.divide(
        repeat_total, frequency, out=np.zeros(n, dtype=np.float64), where=frequency > 0
    )
    unit = float(time_unit_days)
    return RFM(
        customer_ids=unique_ids,
        frequency=frequency,
        recency=(last_day - first_day) / unit,
        T=(end - first_day) / unit,
        monetary_value=monetary,
    )
