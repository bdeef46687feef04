"""The purchase models side by side: one interface, fitting every candidate, scoring each on a
holdout period, and choosing one (docs/valuation.md, "Choosing the purchase model").

Pure NumPy; the refit (valuation.services) feeds it transaction logs and stores what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from valuation.numerics import bgnbd, mbgnbd, pareto_nbd
from valuation.numerics.rfm import rfm_summary

_MODULES: dict[str, Any] = {"bgnbd": bgnbd, "mbgnbd": mbgnbd, "pareto_nbd": pareto_nbd}
_PARAMS: dict[str, Any] = {
    "bgnbd": bgnbd.BgNbdParams,
    "mbgnbd": mbgnbd.MbgNbdParams,
    "pareto_nbd": pareto_nbd.ParetoNbdParams,
}
MODEL_NAMES = tuple(_MODULES)
LABELS = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}
REFERENCES = {
    "bgnbd": "Fader, Hardie & Lee 2005",
    "mbgnbd": "Batislam, Denizel & Filiztekin 2007",
    "pareto_nbd": "Schmittlein, Morrison & Colombo 1987",
}
PARAMETER_NAMES = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
}

# Above this many calibration purchases customers share the last row of the by-frequency check.
FREQUENCY_ROWS = 7


def _finite(value):
    """JSON has no NaN or infinity (PostgreSQL refuses them): None, recursively."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class PurchaseModel:
    """A fitted purchase model: what the figures need, whichever model it is."""

    name: str
    params: Any

    @classmethod
    def of(cls, name: str, parameters: dict[str, float]) -> PurchaseModel:
        return cls(name, _PARAMS[name](**{k: float(parameters[k]) for k in PARAMETER_NAMES[name]}))

    @property
    def label(self) -> str:
        return LABELS[self.name]

    @property
    def reference(self) -> str:
        return REFERENCES[self.name]

    def parameters(self) -> dict[str, float]:
        return {k: float(getattr(self.params, k)) for k in PARAMETER_NAMES[self.name]}

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        return _MODULES[self.name].p_alive(self.params, frequency, recency, T)

    def expected_transactions(self, t, frequency, recency, T) -> np.ndarray:
        """Conditional expected transactions in the next t time units (`t` broadcasts)."""
        return _MODULES[self.name].expected_transactions(self.params, t, frequency, recency, T)

    def expected_transactions_new_customer(self, t) -> np.ndarray:
        """Expected repeat transactions in the first t time units of a customer just acquired."""
        return _MODULES[self.name].expected_transactions_new_customer(self.params, t)

    def log_likelihood(self, frequency, recency, T) -> float:
        return _MODULES[self.name].log_likelihood(self.params, frequency, recency, T)


@dataclass(frozen=True)
class Candidate:
    model: PurchaseModel
    log_likelihood: float
    converged: bool

    def as_dict(self) -> dict:
        return _finite(
            {
                "params": self.model.parameters(),
                "log_likelihood": float(self.log_likelihood),
                "converged": bool(self.converged),
            }
        )


def fit_candidates(frequency, recency, T) -> dict[str, Candidate]:
    """Every purchase model fitted by maximum likelihood on the same customers."""
    candidates = {}
    for name in MODEL_NAMES:
        result = _MODULES[name].fit(frequency, recency, T)
        candidates[name] = Candidate(
            PurchaseModel(name, result.params), result.log_likelihood, result.converged
        )
    return candidates


@dataclass(frozen=True)
class Holdout:
    """How each candidate fitted on the calibration period forecast the holdout that follows.

    `actual` and `predicted` are repeat transactions (transaction days) in (calibration_end,
    holdout_end] of the customers who bought by calibration_end; `weekly` is the tracking
    check (cumulative repeat transactions, actual and each model's, every 7 days from the first
    purchase to holdout_end), `by_frequency` the conditional check (mean holdout transactions
    by number of calibration repeat purchases, 0..FREQUENCY_ROWS, the last row "or more").
    """

    calibration_end: np.datetime64
    holdout_end: np.datetime64
    customers: int
    calibration: dict[str, Candidate]
    actual: float
    predicted: dict[str, float]
    weekly_dates: np.ndarray  # datetime64[D]
    weekly_actual: np.ndarray
    weekly_predicted: dict[str, np.ndarray]
    by_frequency: list[dict]

    def absolute_error(self, name: str) -> float:
        return abs(self.predicted[name] - self.actual)

    def as_dict(self) -> dict:
        return _finite(
            {
                "calibration_end": str(self.calibration_end),
                "holdout_end": str(self.holdout_end),
                "customers": self.customers,
                "actual": self.actual,
                "predicted": self.predicted,
                "calibration": {name: c.as_dict() for name, c in self.calibration.items()},
                "weekly": {
                    "dates": [str(d) for d in self.weekly_dates],
                    "actual": self.weekly_actual.tolist(),
                    "predicted": {name: v.tolist() for name, v in self.weekly_predicted.items()},
                },
                "by_frequency": self.by_frequency,
            }
        )


def holdout_compare(
    customer_ids, dates, calibration_end, holdout_end, *, time_unit_days: float = 7.0
) -> Holdout:
    """Fit every model on the transactions up to `calibration_end` and score it on the
    holdout (calibration_end, holdout_end]. `dates` are transaction days (datetime64[D]);
    several on one day count once, as in rfm_summary."""
    ids = np.asarray(customer_ids)
    days = np.asarray(dates, dtype="datetime64[D]")
    end = np.datetime64(calibration_end, "D")
    stop = np.datetime64(holdout_end, "D")
    if stop <= end:
        raise ValueError("the holdout must end after the calibration period")
    unit = float(time_unit_days)
    keep = days <= stop
    ids, days = ids[keep], days[keep]
    summary = rfm_summary(ids, days, np.zeros(ids.shape[0]), end, time_unit_days=unit)
    calibration = fit_candidates(summary.frequency, summary.recency, summary.T)

    # One transaction per customer and day; the calibration customers' first days.
    # One integer key per (calibration customer, day), sorted once: customers who first bought
    # after the calibration end play no part. (np.unique over rows is a structured sort, and
    # its hashing variant was slower still on millions of keys.)
    count = summary.customer_ids.shape[0]
    index = np.minimum(np.searchsorted(summary.customer_ids, ids), max(count - 1, 0))
    known = (summary.customer_ids[index] == ids) if count else np.zeros(ids.shape[0], dtype=bool)
    day_numbers = days.astype(np.int64)[known]
    low = int(day_numbers.min()) if day_numbers.size else 0
    width = (int(day_numbers.max()) - low + 1) if day_numbers.size else 1
    keys = np.sort(index[known].astype(np.int64) * width + (day_numbers - low))
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if keys.size else keys
    index, pair_days = keys // width, keys % width + low
    births = (end.astype(np.int64) - np.rint(summary.T * unit)).astype(np.int64)
    first_day = births[index] if count else np.zeros(0, dtype=np.int64)
    repeat = pair_days > first_day
    in_holdout = repeat & (pair_days > end.astype(np.int64))
    per_customer = np.bincount(index[in_holdout], minlength=summary.customer_ids.shape[0]).astype(
        np.float64
    )
    horizon = float(stop.astype(np.int64) - end.astype(np.int64)) / unit
    # A model can converge to the edge of its space (MBG/NBD with a and b in the millions on
    # the demo's calibration period, i.e. no dropout at all), where its series overflows: its
    # forecast is then not finite and `choose` passes it over.
    with np.errstate(over="ignore", invalid="ignore"):
        predicted_each = {
            name: c.model.expected_transactions(
                horizon, summary.frequency, summary.recency, summary.T
            )
            for name, c in calibration.items()
        }

    # Tracking: cumulative repeat transactions every 7 days; the models' from each customer's
    # birth, Σ_i E[X(d - birth_i)] for a customer just acquired (a convolution over days).
    start = int(births.min()) if births.size else int(end.astype(np.int64))
    span = int(stop.astype(np.int64)) - start
    born = np.bincount(births - start, minlength=span + 1).astype(np.float64)
    repeat_days = np.bincount(pair_days[repeat] - start, minlength=span + 1).astype(np.float64)
    cumulative_actual = np.cumsum(repeat_days)[: span + 1]
    grid = np.arange(span + 1, dtype=np.float64) / unit
    sample = np.arange(0, span + 1, 7)
    if sample[-1] != span:
        sample = np.append(sample, span)
    weekly_predicted = {}
    for name, c in calibration.items():
        with np.errstate(over="ignore", invalid="ignore"):
            new = np.asarray(c.model.expected_transactions_new_customer(grid), dtype=np.float64)
            weekly_predicted[name] = np.convolve(born, new)[: span + 1][sample]

    rows = []
    capped = np.minimum(summary.frequency, FREQUENCY_ROWS).astype(np.int64)
    for x in range(FREQUENCY_ROWS + 1):
        members = capped == x
        count = int(members.sum())
        rows.append(
            {
                "frequency": f"{x}+" if x == FREQUENCY_ROWS else str(x),
                "customers": count,
                "actual": float(per_customer[members].mean()) if count else None,
                "predicted": {
                    name: float(values[members].mean()) if count else None
                    for name, values in predicted_each.items()
                },
            }
        )
    return Holdout(
        calibration_end=end,
        holdout_end=stop,
        customers=int(summary.customer_ids.shape[0]),
        calibration=calibration,
        actual=float(per_customer.sum()),
        predicted={name: float(v.sum()) for name, v in predicted_each.items()},
        weekly_dates=(np.datetime64(0, "D") + start + sample).astype("datetime64[D]"),
        weekly_actual=cumulative_actual[sample],
        weekly_predicted=weekly_predicted,
        by_frequency=rows,
    )


def choose(candidates: dict[str, Candidate], holdout: Holdout | None) -> tuple[str | None, str]:
    """(chosen model, how): the smallest absolute error of the holdout forecast of total repeat
    transactions among the models that converged on both periods ("holdout"); without a usable
    holdout, the highest log-likelihood on all history ("log_likelihood": every model has four
    parameters, so AIC and BIC rank them alike). None when no model converged."""
    usable = [name for name, c in candidates.items() if c.converged]
    if holdout is not None:
        scored = [
            name
            for name in usable
            if holdout.calibration[name].converged and np.isfinite(holdout.predicted[name])
        ]
        if scored:
            best = min(
                scored,
                key=lambda n: (holdout.absolute_error(n), -candidates[n].log_likelihood),
            )
            return best, "holdout"
    if not usable:
        return None, ""
    return max(usable, key=lambda n: candidates[n].log_likelihood), "log_likelihood"
