import numpy as np
import pytest

from valuation.numerics._optimize import compress_rows, factorise


@pytest.mark.parametrize(
    "column",
    [
        # ages in weeks of whole days, as rfm_summary makes them (days / 7)
        np.random.default_rng(1).integers(0, 600, size=5000) / 7.0,
        # recencies floored to the day grid as k * (1/7): other floats than k / 7
        np.floor(np.random.default_rng(2).uniform(0, 80, size=5000) * 7) * (1 / 7.0),
        # ages in months of whole days
        np.random.default_rng(3).integers(0, 600, size=5000) / 30.4375,
        # frequencies
        np.random.default_rng(4).poisson(2.0, size=5000).astype(float),
        # ages in days, with negative zero
        np.concatenate([[-0.0, 0.0], np.random.default_rng(5).integers(0, 4000, 5000)]),
        np.array([3.5]),
    ],
)
def test_it_factorises_a_column_on_a_day_grid_into_its_distinct_values(column):
    values, codes = factorise(column)

    expected_values, expected_codes = np.unique(column, return_inverse=True)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(codes, expected_codes.ravel())
    # every element is recovered exactly from its code
    np.testing.assert_array_equal(values[codes], column)


@pytest.mark.parametrize(
    "column",
    [
        # continuous times: no grid
        np.random.default_rng(6).uniform(0, 52, size=5000),
        # one grid cell would hold two values at every tried scale
        np.array([1.0, 1.0 + 1e-9, 2.0, 2.0, 1.0]),
        np.array([]),
    ],
)
def test_it_keeps_a_column_off_any_grid_as_its_own_table(column):
    values, codes = factorise(column)

    np.testing.assert_array_equal(codes, np.arange(column.shape[0]))
    np.testing.assert_array_equal(values[codes], column)


@pytest.mark.parametrize("grid", [True, False])
def test_it_compresses_rows_to_the_distinct_ones_with_their_counts(grid):
    # given customers on a day grid (weeks) or off any grid, many of them alike
    rng = np.random.default_rng(4)
    age = rng.integers(1, 300, size=5000) / 7.0
    if not grid:
        age = age + rng.random(5000) * 1e-3
    x = rng.integers(0, 4, size=5000).astype(float)
    t_x = np.where(x > 0, np.floor(age * rng.random(5000) * 7) / 7, 0.0)

    rows_x, rows_t, rows_T, counts = compress_rows(x, t_x, age)

    expected, expected_counts = np.unique(
        np.column_stack([x, t_x, age]), axis=0, return_counts=True
    )
    got = np.column_stack([rows_x, rows_t, rows_T])
    order = np.lexsort(got.T[::-1])
    np.testing.assert_array_equal(got[order], expected)
    np.testing.assert_array_equal(counts[order], expected_counts)
