"""Choosing the purchase model by its holdout forecast (valuation.numerics.purchase), on CDNOW:
the numbers docs/valuation.md gives."""

import numpy as np
import pytest

from valuation.numerics import purchase

CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"
# docs/valuation.md, "Choosing the purchase model": repeat transactions of the 2,357 customers
# in the 39 weeks after 1997-09-30, each model fitted on the 39 weeks before.
DOCUMENTED_ACTUAL = 1882
DOCUMENTED_FORECAST = {"bgnbd": 1653.4, "mbgnbd": 1576.7, "pareto_nbd": 1665.5}
DOCUMENTED_WEEK_78 = {"actual": 4339, "bgnbd": 4160.6, "mbgnbd": 4050.0, "pareto_nbd": 4270.0}


@pytest.fixture(scope="module")
def cdnow_holdout(cdnow_transactions):
    ids, dates, _ = cdnow_transactions
    return purchase.holdout_compare(ids, dates, CALIBRATION_END, HOLDOUT_END)


def test_it_gives_the_documented_cdnow_holdout_forecasts(cdnow_holdout):
    h = cdnow_holdout

    assert h.customers == 2357
    assert h.actual == DOCUMENTED_ACTUAL
    for name, forecast in DOCUMENTED_FORECAST.items():
        assert h.calibration[name].converged
        assert h.predicted[name] == pytest.approx(forecast, abs=0.1)
    assert h.weekly_dates[-1] == np.datetime64(HOLDOUT_END)
    assert h.weekly_actual[-1] == DOCUMENTED_WEEK_78["actual"]
    for name in DOCUMENTED_FORECAST:
        assert h.weekly_predicted[name][-1] == pytest.approx(DOCUMENTED_WEEK_78[name], abs=0.1)


def test_it_counts_the_holdout_as_the_transaction_log_does(cdnow_transactions, cdnow_holdout):
    # given the customer-days of the log, counted independently
    ids, dates, _ = cdnow_transactions
    days = np.unique(np.column_stack([ids, dates.astype(np.int64)]), axis=0)
    first = {}
    for customer, day in days:
        first[customer] = min(first.get(customer, day), day)
    end = np.datetime64(CALIBRATION_END).astype(np.int64)
    repeat = [(c, d) for c, d in days if d > first[c]]

    # then the holdout's actual is the repeat customer-days after the calibration end, the
    # tracking's last point all repeat customer-days, and by frequency adds up to both
    assert cdnow_holdout.actual == sum(d > end for _, d in repeat)
    assert cdnow_holdout.weekly_actual[-1] == len(repeat)
    rows = cdnow_holdout.by_frequency
    assert sum(row["customers"] for row in rows) == 2357
    assert sum(row["customers"] * row["actual"] for row in rows) == pytest.approx(
        cdnow_holdout.actual
    )
    # the models' conditional means weigh up to their totals
    for name, total in cdnow_holdout.predicted.items():
        assert sum(row["customers"] * row["predicted"][name] for row in rows) == pytest.approx(
            total
        )


def test_it_chooses_the_smallest_holdout_error(cdnow_transactions, cdnow_holdout):
    ids, dates, dollars = cdnow_transactions
    from valuation.numerics.rfm import rfm_summary

    s = rfm_summary(ids, dates, dollars, np.datetime64(HOLDOUT_END))
    candidates = purchase.fit_candidates(s.frequency, s.recency, s.T)

    assert purchase.choose(candidates, cdnow_holdout) == ("pareto_nbd", "holdout")
    # without a holdout: the highest log-likelihood on all history
    best = max(candidates, key=lambda n: candidates[n].log_likelihood)
    assert purchase.choose(candidates, None) == (best, "log_likelihood")


def test_it_skips_a_model_that_did_not_converge(cdnow_holdout):
    candidates = {
        name: purchase.Candidate(c.model, c.log_likelihood, converged=name != "pareto_nbd")
        for name, c in cdnow_holdout.calibration.items()
    }

    chosen, how = purchase.choose(candidates, cdnow_holdout)

    assert (chosen, how) == ("bgnbd", "holdout")
