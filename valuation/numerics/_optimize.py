"""Shared maximum-likelihood helpers: factorising data columns, and a Newton maximiser."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

# Cell widths tried when factorising a column on a grid: whole units, days of a week, days of
# a year. Any width works as long as each cell holds one distinct value (checked).
_GRID_SCALES = (1.0, 7.0, 366.0)
_SAMPLE = 4096

_BOUND = 30.0  # |log parameter|: beyond this the model is degenerate (e.g. a drifting ridge)
_MAX_STEP = 2.0  # longest Newton step in a log-parameter: a factor e^2 at most


def sum_of(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Sum (or weighted sum) of a vector without BLAS: np.dot hands long vectors to a
    multi-threaded BLAS whose threads, on a busy two-core machine, can take milliseconds to
    wake; einsum sums in the calling thread."""
    if weights is None:
        return float(np.add.reduce(values))
    return float(np.einsum("i,i->", values, weights))


def _grid_factorise(column: np.ndarray, scale: float, max_cells: int):
    cells = np.multiply(column, scale)
    with np.errstate(invalid="ignore"):
        np.rint(cells, out=cells)
    low, high = float(cells.min()), float(cells.max())
    if not (np.isfinite(low) and np.isfinite(high)) or high - low >= max_cells:
        return None
    cells -= low
    codes = cells.astype(np.intp)
    table = np.empty(int(high - low) + 1)
    table[codes] = column  # the last write wins; equal to every write if the cell is pure
    if not np.array_equal(np.take(table, codes, out=cells, mode="clip"), column):
        return None
    present = np.zeros(table.shape[0], dtype=bool)
    present[codes] = True
    if present.all():  # every cell used (ages on a day grid): the cells are the codes
        return table, codes
    renumber = np.cumsum(present) - 1
    return table[present], np.take(renumber, codes, mode="clip")


def factorise(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, codes) with values[codes] == column: a table of the column's values that the
    likelihood evaluates once per value instead of once per customer.

    Frequencies, recencies and ages are whole days in some time unit, so they lie on a grid:
    rounding value * scale to an integer cell and checking that every cell holds one value
    gives the distinct values (ascending) in a few linear passes instead of a sort. Data off
    any grid (continuous times) have about as many distinct values as rows, so the column is
    its own table there (codes 0..n-1) rather than paying for a sort that saves nothing.
    """
    column = np.ascontiguousarray(column, dtype=np.float64).ravel()
    max_cells = 4 * column.shape[0] + 1024
    for scale in _GRID_SCALES:
        # A cheap rejection on a prefix before the full pass.
        if column.shape[0] == 0 or _grid_factorise(column[:_SAMPLE], scale, max_cells) is None:
            continue
        found = _grid_factorise(column, scale, max_cells)
        if found is not None:
            return found
    return column, np.arange(column.shape[0])


def maximise_log_params(
    evaluate,
    initial: np.ndarray,
    *,
    newton_iterations: int = 60,
    fallback_evaluations: int = 15000,
    quasi_newton: bool = False,
    upper: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """Maximise a mean log-likelihood over log-parameters.

    `evaluate(params, hessian)` returns (mean log-likelihood, gradient, Hessian or None) w.r.t.
    the parameters. Newton's method with the analytic Hessian (a handful of evaluations from
    a rough start); if it does not reach an identified maximum, L-BFGS-B from the same start
    decides. Returns the parameters and whether the fit converged to an identified maximum
    (stationary point with a positive-definite, well-conditioned Hessian). A model whose
    evaluations are dear caps both searches (`newton_iterations`, `fallback_evaluations`): a
    fit that has not converged by then is reported as such and not used. With `quasi_newton`
    (a Hessian that costs several evaluations) the Hessian is evaluated at the start and where
    the steps become small, and updated by BFGS in between. `upper` (per parameter, in
    log-parameters) caps a search where a model is degenerate beyond it: Newton gives up on
    crossing it and the fit is reported as not converged without L-BFGS-B (an ascent from the
    same start that Newton's ascent led past the cap; bounded by it, it could only end on the
    cap too, which is no identified maximum either).
    """
    limit = np.full(initial.shape[0], _BOUND) if upper is None else np.minimum(upper, _BOUND)

    def objective(log_params, hessian=True):
        """-value, gradient and Hessian in log-parameters, or None where not finite."""
        params = np.exp(log_params)
        # Trial points far from the optimum may overflow; they are rejected.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value, gradient, second = evaluate(params, hessian)
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return None
        g = gradient * params
        if not hessian:
            return -value, -g, None
        h = second * np.outer(params, params) + np.diag(g)
        if not np.all(np.isfinite(h)):
            return None
        return -value, -g, -h

    start = np.log(initial)
    capped: list[np.ndarray] = []
    found = _newton(
        objective,
        start,
        max_iterations=newton_iterations,
        quasi=quasi_newton,
        upper=None if upper is None else limit,
        capped=capped,
    )
    if found is not None:
        return np.exp(found), True
    if capped:
        return np.exp(capped[0]), False

    def first_order(log_params):
        result = objective(log_params, hessian=False)
        if result is None:
            return np.inf, np.zeros_like(log_params)
        return result[0], result[1]

    result = minimize(
        first_order,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_BOUND, float(high)) for high in limit],
        options={
            "maxiter": 2000,
            "maxfun": fallback_evaluations,
            "ftol": 1e-15,
            "gtol": 1e-10,
            "maxcor": 20,
        },
    )
    # L-BFGS-B may stop on "abnormal termination in line search" at the optimum when the
    # objective is flat to machine precision; judge convergence by the gradient instead.
    at_end = objective(result.x)
    if at_end is None:
        return np.exp(result.x), False
    stationary = bool(result.success or np.max(np.abs(at_end[1])) < 1e-6)
    inside = bool(np.all(result.x < limit - 1e-6))
    return np.exp(result.x), stationary and inside and _identified(at_end[2])


def _newton(
    objective,
    start: np.ndarray,
    max_iterations: int = 60,
    *,
    quasi: bool = False,
    upper: np.ndarray | None = None,
    capped: list[np.ndarray] | None = None,
) -> np.ndarray | None:
    """Damped Newton minimisation of objective (value, gradient, Hessian) from `start`.

    Where the Hessian is not positive definite its eigenvalues are replaced by their absolute
    values (a descent direction that escapes saddles); steps are capped and backtracked until
    the value decreases (Armijo). Returns the minimiser once the Newton step is below 1e-7 at
    an identified point, or None (no convergence, or a boundary/flat-ridge solution).

    `quasi`: trial points are evaluated without the Hessian, which a BFGS update carries from
    step to step; once the step is small the true Hessian is evaluated and decides, so the
    convergence test and the identification check are those of Newton's method.

    `upper`: where a step would cross it the search stops (None) without evaluating past it,
    the last point below it appended to `capped`.
    """
    theta = start.copy()
    current = objective(theta)
    if current is None:
        return None
    exact = True  # the Hessian in `current` is the true one
    for _ in range(max_iterations):
        value, gradient, hessian = current
        eigenvalues, vectors = np.linalg.eigh(hessian)
        largest = np.max(np.abs(eigenvalues))
        if not largest > 0:
            return None
        curvature = np.maximum(np.abs(eigenvalues), 1e-10 * largest)
        step = -vectors @ ((vectors.T @ gradient) / curvature)
        longest = np.max(np.abs(step))
        if longest > _MAX_STEP:
            step *= _MAX_STEP / longest
        if longest < 1e-7 and not exact:
            current = objective(theta)  # the true Hessian decides
            if current is None:
                return None
            exact = True
            continue
        if longest < 1e-7:
            # Quadratic convergence: the error after this step is of the order of step**2.
            if _identified(hessian):
                return theta + step
            return None
        slope = float(gradient @ step)
        # Near the optimum the decrease is below rounding of the value: trust the model.
        flat = -slope < 1e-12 * (1.0 + abs(value)) and eigenvalues[0] > 0
        if upper is not None and np.any(theta + step > upper):
            # Not evaluated: past the cap the model's series are dearest (seconds a point).
            if capped is not None:
                capped.append(theta)  # the last point below the cap
            return None
        t = 1.0
        while True:
            trial_point = theta + t * step
            trial = objective(trial_point, not quasi)
            if trial is not None and (flat or trial[0] <= value + 1e-4 * t * slope):
                break
            t *= 0.5
            if t < 1e-4:  # no progress: a flat ridge or rounding noise; leave it to L-BFGS-B
                return None
        if quasi:
            moved, change = trial_point - theta, trial[1] - gradient
            pushed = hessian @ moved
            curvature_along, model_along = float(change @ moved), float(moved @ pushed)
            if curvature_along > 1e-12 * float(moved @ moved) and model_along > 0:
                updated = (
                    hessian
                    + np.outer(change, change) / curvature_along
                    - np.outer(pushed, pushed) / model_along
                )
                trial, exact = (trial[0], trial[1], updated), False
            else:  # no curvature information: evaluate the Hessian there
                trial, exact = objective(trial_point), True
                if trial is None:
                    return None
        theta, current = trial_point, trial
        if np.max(np.abs(theta)) > _BOUND:
            return None
    return None


def _identified(hessian) -> bool:
    """True when the maximum is well determined: the Hessian of the objective (minus the mean
    log-likelihood) in log-parameters is positive definite and not nearly singular. Data that
    cannot identify the parameters (nobody repeated, one customer) let them run off along a
    flat ridge, which this rejects."""
    if hessian is None or not np.all(np.isfinite(hessian)):
        return False
    eigenvalues = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    smallest, largest = eigenvalues[0], eigenvalues[-1]
    return bool(smallest > 1e-9 and largest / smallest < 1e8)


def combine_codes(key: np.ndarray, size: int, codes: np.ndarray, size_codes: int):
    """(codes of the distinct (key, codes) pairs, their count, a row of each): the pair
    (k, c) as k * size_codes + c, renumbered by a table over that key space when it is not much
    larger than the rows (no sort), by np.unique otherwise."""
    n = key.shape[0]
    combined = key.astype(np.int64) * np.int64(size_codes) + codes
    space = int(size) * int(size_codes)
    if space <= 8 * n + 1_000_000:
        present = np.zeros(space, dtype=bool)
        present[combined] = True
        renumber = np.cumsum(present) - 1
        new = renumber[combined]
        count = int(renumber[-1]) + 1 if space else 0
        # Rows of one pair are alike, so any of them stands for it.
        row = np.empty(count, dtype=np.intp)
        row[new] = np.arange(n)
        return new, count, row
    _, row, new = np.unique(combined, return_index=True, return_inverse=True)
    return np.ravel(new), row.shape[0], row


def compress_rows(x, t_x, age, weights=None):
    """Distinct (x, t_x, T) rows and how many customers (or how much weight) each stands for.

    A likelihood summed over customers is the weighted sum over the distinct rows, and on a day
    grid there are far fewer of those (at 1,000,000 generated customers about 260,000, most of
    them repeat buyers; everyone without a repeat purchase collapses onto one row per age).
    Codes from `factorise` (linear passes), combined two columns at a time (`combine_codes`:
    the keys never overflow, and on a day grid no sort is needed).
    """
    columns = [np.ascontiguousarray(v, dtype=np.float64).ravel() for v in (x, t_x, age)]
    values, key = factorise(columns[0])
    size = values.shape[0]
    row = np.arange(columns[0].shape[0])
    for column in columns[1:]:
        values, codes = factorise(column)
        key, size, row = combine_codes(key, size, codes, values.shape[0])
    if weights is None:
        weights = np.ones(key.shape[0])
    counts = np.bincount(key, weights=np.asarray(weights, dtype=np.float64).ravel(), minlength=size)
    return columns[0][row], columns[1][row], columns[2][row], counts
