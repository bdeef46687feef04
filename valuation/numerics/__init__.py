"""Pure valuation models: NumPy/SciPy only, no Django (STYLE.md §4).

Every function is vectorised over arrays of customers and works in float64. See
docs/valuation.md for the formulas, units and references.
"""
