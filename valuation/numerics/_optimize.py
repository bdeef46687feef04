"""Shared maximum-likelihood helpers."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


def compress_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Collapse identical rows of the given columns into unique rows plus counts (weights).

    Each column is factorised with a 1-d np.unique and the codes are combined into one integer
    key, which is much faster than np.unique(axis=0) on a million rows.
    """
    arrays = [np.asarray(c, dtype=np.float64).ravel() for c in columns]
    key = np.zeros(arrays[0].shape[0], dtype=np.int64)
    span = 1
    for column in arrays:
        values, codes = np.unique(column, return_inverse=True)
        span *= values.shape[0]
        if span >= 2**62:
            stacked = np.column_stack(arrays)
            rows, counts = np.unique(stacked, axis=0, return_counts=True)
            return [rows[:, j] for j in range(rows.shape[1])], counts.astype(np.float64)
        key = key * values.shape[0] + codes
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    return [column[first] for column in arrays], counts.astype(np.float64)


def maximise_log_params(value_and_gradient, initial: np.ndarray) -> tuple[np.ndarray, bool]:
    """Maximise a mean log-likelihood over log-parameters with L-BFGS-B and analytic gradient.

    `value_and_gradient(params)` returns (mean log-likelihood, gradient w.r.t. params).
    Returns the parameters and whether the fit converged to an identified maximum (stationary
    point with a positive-definite, well-conditioned Hessian).
    """

    def objective(log_params):
        params = np.exp(log_params)
        # Trial points far from the optimum may overflow; they are rejected below.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value, gradient = value_and_gradient(params)
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return np.inf, np.zeros_like(log_params)
        return -value, -gradient * params

    result = minimize(
        objective,
        np.log(initial),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-30.0, 30.0)] * initial.shape[0],
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
    )
    # L-BFGS-B may stop on "abnormal termination in line search" at the optimum when the
    # objective is flat to machine precision; judge convergence by the gradient instead.
    _, gradient = objective(result.x)
    stationary = bool(result.success or np.max(np.abs(gradient)) < 1e-6)
    return np.exp(result.x), stationary and _identified(objective, result.x)


def _identified(objective, log_params: np.ndarray) -> bool:
    """True when the maximum is interior and well determined: the Hessian of the objective in
    log-parameters (central differences of the analytic gradient) is positive definite and not
    nearly singular. Data that cannot identify the parameters (nobody repeated, one customer)
    lets them run off along a flat ridge, which this rejects."""
    k = log_params.shape[0]
    step = 1e-4
    hessian = np.empty((k, k))
    for i in range(k):
        shift = np.zeros(k)
        shift[i] = step
        hessian[i] = (objective(log_params + shift)[1] - objective(log_params - shift)[1]) / (
            2 * step
        )
    if not np.all(np.isfinite(hessian)):
        return False
    eigenvalues = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    smallest, largest = eigenvalues[0], eigenvalues[-1]
    return bool(smallest > 1e-9 and largest / smallest < 1e8)
