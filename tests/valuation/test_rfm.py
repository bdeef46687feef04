import numpy as np
import pandas as pd
import pytest

from valuation.numerics.rfm import rfm_summary


def test_it_merges_same_day_transactions_and_averages_only_repeat_transactions():
    # given customer 7 buys twice on day 1 (10 + 5), then 30 on day 8 and 50 on day 15
    ids = np.array([7, 7, 7, 7])
    dates = np.array(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-15"], "datetime64[D]")
    amounts = np.array([10.0, 5.0, 30.0, 50.0])

    # when
    summary = rfm_summary(ids, dates, amounts, np.datetime64("2024-01-29"))

    # then two repeat transactions after the first day, in weeks
    assert summary.customer_ids.tolist() == [7]
    assert summary.frequency.tolist() == [2.0]
    assert summary.recency.tolist() == [2.0]
    assert summary.T.tolist() == [4.0]
    assert summary.monetary_value.tolist() == [40.0]


def test_it_gives_zero_monetary_value_without_repeat_purchase():
    ids = np.array(["b", "a", "a"])
    dates = np.array(["2024-01-03", "2024-01-01", "2024-01-01"], "datetime64[D]")

    summary = rfm_summary(ids, dates, np.array([9.0, 1.0, 2.0]), "2024-01-08", time_unit_days=1)

    assert summary.customer_ids.tolist() == ["a", "b"]
    assert summary.frequency.tolist() == [0.0, 0.0]
    assert summary.recency.tolist() == [0.0, 0.0]
    assert summary.T.tolist() == [7.0, 5.0]
    assert summary.monetary_value.tolist() == [0.0, 0.0]


def test_it_excludes_transactions_and_customers_after_the_observation_end():
    # given customer 1 buys before and after the end, customer 2 only after it
    ids = np.array([1, 1, 2])
    dates = np.array(["2024-01-01", "2024-03-01", "2024-03-02"], "datetime64[D]")

    summary = rfm_summary(ids, dates, np.array([5.0, 6.0, 7.0]), np.datetime64("2024-01-15"))

    assert summary.customer_ids.tolist() == [1]
    assert summary.frequency.tolist() == [0.0]
    assert summary.T.tolist() == [2.0]


def test_it_returns_empty_arrays_when_nothing_is_observed():
    summary = rfm_summary(
        np.array([1]), np.array(["2025-01-01"], "datetime64[D]"), np.array([1.0]), "2024-01-01"
    )

    assert summary.customer_ids.shape == (0,)
    assert summary.frequency.shape == (0,)


def test_it_rejects_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="same length"):
        rfm_summary(
            np.array([1, 2]), np.array(["2024-01-01"], "datetime64[D]"), [1.0], "2024-02-01"
        )


def test_it_summarises_the_cdnow_sample_as_fader_hardie_lee(cdnow_calibration):
    # 2,357 customers who first bought in the first 12 weeks of 1997, 39-week calibration
    summary = cdnow_calibration

    assert summary.customer_ids.shape == (2357,)
    assert summary.frequency.sum() == 2457.0
    assert summary.frequency[0] == 2.0
    assert summary.recency[0] == pytest.approx(30.428571, abs=1e-6)
    assert summary.T[0] == pytest.approx(38.857143, abs=1e-6)
    assert (summary.frequency > 0).sum() == 946


@pytest.mark.oracle
def test_it_matches_lifetimes_summary_on_a_generated_log(lifetimes):
    summary_data_from_transaction_data = lifetimes.utils.summary_data_from_transaction_data

    # given a seeded log with same-day repeats and transactions after the end
    rng = np.random.default_rng(20260101)
    n = 4000
    ids = rng.integers(0, 600, size=n)
    dates = np.datetime64("2024-01-01") + rng.integers(0, 400, size=n).astype("timedelta64[D]")
    amounts = np.round(rng.gamma(2.0, 20.0, size=n), 2)
    end = np.datetime64("2024-12-01")

    # when
    mine = rfm_summary(ids, dates, amounts, end, time_unit_days=7.0)
    frame = pd.DataFrame({"id": ids, "date": pd.to_datetime(dates), "amount": amounts})
    oracle = summary_data_from_transaction_data(
        frame,
        "id",
        "date",
        monetary_value_col="amount",
        observation_period_end="2024-12-01",
        freq="D",
        freq_multiplier=7,
    )

    # then
    assert mine.customer_ids.tolist() == oracle.index.tolist()
    np.testing.assert_array_equal(mine.frequency, oracle["frequency"].to_numpy())
    np.testing.assert_allclose(mine.recency, oracle["recency"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(mine.T, oracle["T"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(mine.monetary_value, oracle["monetary_value"].to_numpy(), rtol=1e-12)
