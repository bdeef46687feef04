"""How the money figures are stored: Decimal cents, clamped to what their columns hold.

Apart from valuation.services so that valuation.bulk, which services uses, rounds the same way.
"""

import math
from decimal import Decimal

CENT = Decimal("0.01")

# What the money figures' columns (16 digits, 2 places) hold: a figure beyond is clamped to it
# rather than overflow the write (models can extrapolate far past any input bound).
MONEY_FIGURE_MAX = Decimal("99999999999999.99")


def money_stored(value: float) -> Decimal | None:
    """A money figure as stored: None unless finite; clamped to the column; else the float's
    shortest decimal form rounded to cents, half to even."""
    if not math.isfinite(value):
        return None
    if abs(value) >= float(MONEY_FIGURE_MAX):
        return MONEY_FIGURE_MAX.copy_sign(Decimal(value))
    return Decimal(repr(float(value))).quantize(CENT)
