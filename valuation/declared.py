"""The figures the valuation engine stores for every customer, declared once (SPEC §5).

`FIGURES` is the one list. Everything else is derived from it: the columns of
`valuation.models.CustomerFigures` and of `CustomerSnapshot` (the snapshotted ones), the values
each recompute writes and the bulk SQL that writes them (`valuation.services`), the figure
fields of the customer API (`valuation.api`), the money hiding (`core.money`, registered by
`valuation.apps`) and the CSV export's figure columns (`dataio.selectors`). Figures are never
recorded in the audit history: they live in their own table, written with update().

Adding a figure (docs/architecture.md, "Add a figure"): a line here, a migration
(`makemigrations valuation`), and its computation (`valuation.figures.compute_figures`, as a
field of `Figures` of the same name).

No Django models here: the models build their fields from it.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.db import models


class FigureType(StrEnum):
    MONEY = "decimal"  # a Decimal of 2 places, 16 digits; None when unknown
    RATIO = "float"  # a float (shares, probabilities, scores); None when unknown
    COUNT = "int"  # a non-negative integer, 0 by default
    TEXT = "text"  # a short text (a choice), blank by default
    MOMENT = "datetime"  # an aware datetime; None when never


# Where a figure's values come from in a recompute: the numerics' `Figures` (same name), or one
# of the few values the services take from elsewhere (valuation.services._stored_columns).
COMPUTED = "computed"
FROM_BATCH = "batch"  # the customer's running summary (valuation.selectors.ValuationBatch)
FROM_TIERS = "tiers"  # the tier thresholds of the fit (valuation.figures.assign_tiers)
FROM_METHOD = "method"  # the method of the fit that was applied


@dataclass(frozen=True)
class Figure:
    name: str
    type: FigureType
    label: str
    money: bool = False  # hidden from users who may not see money (core.money)
    snapshot: bool = False  # kept in the dated CustomerSnapshot for trend charts
    source: str = COMPUTED
    choices: type[models.TextChoices] | None = None  # a TEXT figure's allowed values
    max_length: int = 20  # a TEXT figure's longest value

    @property
    def support(self) -> bool:
        """Shown to support staff: every figure but money (SPEC §2)."""
        return not self.money


class ValueTier(models.TextChoices):
    """SPEC §5 value tiers (the values of the `tier` figure), each with its recommendation."""

    MVC = "mvc", "Most valuable"
    MGC = "mgc", "Most growable"
    BELOW_ZERO = "below_zero", "Below zero"
    MAINTAIN = "maintain", "Maintain"
    # No purchase yet: valued as a prospect (docs/valuation.md), never ranked or shed on the
    # strength of a contact or two.
    NEW = "new", "New"


TIER_RECOMMENDATION = {
    ValueTier.MVC: "keep",
    ValueTier.MGC: "grow",
    ValueTier.BELOW_ZERO: "shed or re-price",
    ValueTier.MAINTAIN: "maintain",
    ValueTier.NEW: "develop",
}


FIGURES: tuple[Figure, ...] = (
    Figure("interaction_count", FigureType.COUNT, "Interactions", source=FROM_BATCH),
    Figure("last_contact_at", FigureType.MOMENT, "Last contact", source=FROM_BATCH),
    Figure("tier", FigureType.TEXT, "Tier", snapshot=True, source=FROM_TIERS, choices=ValueTier),
    Figure("historic_value", FigureType.MONEY, "Historic value", money=True, snapshot=True),
    Figure("predicted_clv", FigureType.MONEY, "Predicted CLV", money=True, snapshot=True),
    Figure("growth_potential", FigureType.MONEY, "Growth potential", money=True, snapshot=True),
    Figure("revenue_12m", FigureType.MONEY, "Revenue, last 12 months", money=True),
    Figure("p_alive", FigureType.RATIO, "P(active)", snapshot=True),
    Figure("share_of_customer", FigureType.RATIO, "Share of customer", money=True, snapshot=True),
    Figure("share_of_needs", FigureType.RATIO, "Share of needs", snapshot=True),
    Figure("experience_score", FigureType.RATIO, "Experience score", snapshot=True),
    Figure("valuation_method", FigureType.TEXT, "Valuation method", source=FROM_METHOD),
    # The basis of a customer with no purchase yet, and of a wallet inferred from peers
    # (docs/valuation.md, "Prospects" and "Inferred wallets").
    Figure("prospect_value", FigureType.MONEY, "Prospect value", money=True),
    Figure("inferred_wallet", FigureType.MONEY, "Inferred wallet", money=True),
    Figure("wallet_quantile", FigureType.RATIO, "Inferred wallet: quantile of peers' spend"),
    Figure("wallet_peers", FigureType.COUNT, "Inferred wallet: peers"),
    Figure("wallet_peer_group", FigureType.TEXT, "Inferred wallet: peer group", max_length=100),
)

# Below this P(alive) a customer counts as at risk (FIGURES_CHANGED names who crossed it).
AT_RISK_P_ALIVE = 0.5
# What FIGURES_CHANGED reports before and after, in this order (valuation.services).
WATCHED_FIGURES: tuple[str, ...] = ("tier", "p_alive", "predicted_clv")

FIGURE_NAMES: tuple[str, ...] = tuple(figure.name for figure in FIGURES)
COMPUTED_FIGURES: tuple[str, ...] = tuple(f.name for f in FIGURES if f.source == COMPUTED)
SNAPSHOT_FIGURES: tuple[str, ...] = tuple(f.name for f in FIGURES if f.snapshot)
MONEY_FIGURES: frozenset[str] = frozenset(f.name for f in FIGURES if f.money)
