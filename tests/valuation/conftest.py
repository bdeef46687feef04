"""CDNOW data from the `lifetimes` wheel (a dev-only dependency), read by path.

lifetimes.datasets imports pkg_resources, so the files are located through the package spec
instead of importing that module.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from valuation.numerics.rfm import rfm_summary

CALIBRATION_END = np.datetime64("1997-09-30")


def lifetimes_datasets_dir() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def read_cdnow(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer ids, dates, dollars) from a CDNOW file: no header; master id, sample id,
    YYYYMMDD date, number of CDs, dollars. The sample id numbers customers 1..2357."""
    raw = np.loadtxt(lifetimes_datasets_dir() / name, dtype=str)
    dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in raw[:, 2]], dtype="datetime64[D]")
    return raw[:, 1].astype(np.int64), dates, raw[:, 4].astype(np.float64)


@pytest.fixture(scope="session")
def cdnow_transactions():
    return read_cdnow("CDNOW_sample.txt")


@pytest.fixture(scope="session")
def cdnow_calibration(cdnow_transactions):
    ids, dates, dollars = cdnow_transactions
    return rfm_summary(ids, dates, dollars, CALIBRATION_END, time_unit_days=7.0)


@pytest.fixture(scope="session")
def lifetimes():
    """The archived `lifetimes` package, the oracle. Its import sets a pandas option that
    pandas 3 deprecates; that warning is about lifetimes, not about us."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes
        import lifetimes.utils
    return lifetimes
