"""A customer's figures from their summary, the population fit and the settings (SPEC §5).

Plain NumPy over arrays of customers, no Django: the per-interaction recompute passes arrays of
length one, the nightly recompute the whole base, so both compute exactly the same thing.
Every intermediate value is returned too, because the customer page explains each figure.
"""

from dataclasses import dataclass, fields

import numpy as np

from .numerics import clv, experience, gamma_gamma, tiers, wallets
from .numerics.purchase import PurchaseModel

DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class ValuationParams:
    horizon_months: int = 36
    annual_discount_rate: float = 0.10
    target_share: float = 0.60
    tenure_half_life_days: float = 365.0


@dataclass(frozen=True)
class Priors:
    """What a fit learnt for customers their own purchases cannot value (docs/valuation.md):
    the value of a prospect, the population's margin ratio (a prospect has none of their own)
    and the wallets of similar customers by segment."""

    prospect_value: float  # first seen within the conversion window
    late_prospect_value: float  # first seen longer ago, never bought
    window_days: float
    margin_ratio: float
    peer_wallets: wallets.PeerWallets


@dataclass(frozen=True)
class PopulationFit:
    """Stored parameters of a fit: the chosen purchase model (BG/NBD, MBG/NBD or Pareto/NBD, one
    interface) and Gamma-Gamma; both None for the fallback estimate."""

    time_unit_days: float
    purchase_model: PurchaseModel | None
    gamma_gamma: gamma_gamma.GammaGammaParams | None
    clv_threshold: float | None = None
    growth_threshold: float | None = None
    priors: Priors | None = None

    @property
    def uses_model(self) -> bool:
        return self.purchase_model is not None and self.gamma_gamma is not None


@dataclass(frozen=True)
class FigureInputs:
    """One entry per customer. Days are counted up to `today`; NaN marks unknown values."""

    transaction_days: np.ndarray  # distinct days with an order
    days_since_first: np.ndarray  # today - first transaction (NaN: none)
    days_first_to_last: np.ndarray  # last - first transaction (NaN: none)
    revenue_total: np.ndarray
    margin_total: np.ndarray
    first_day_revenue: np.ndarray
    cost_to_serve_total: np.ndarray
    revenue_12m: np.ndarray
    cost_to_serve_12m: np.ndarray
    wallet_annual: np.ndarray  # stated or estimated; NaN: unknown
    is_organization: np.ndarray  # 1 organization, 0 person
    people_served: np.ndarray  # the size fact (NaN: unknown)
    tenure_days: np.ndarray
    own_rating: np.ndarray  # mean 1-5 rating the customer gave offerings they hold (NaN: none)
    others_rating: np.ndarray  # mean 1-5 rating by other customers of those offerings
    on_time_share: np.ndarray  # share of inquiries/complaints answered within target (NaN)
    satisfaction: np.ndarray  # mean 1-5 satisfaction (NaN: none)
    needs_met: np.ndarray  # needs met by us (NaN: no needs known)
    needs_known: np.ndarray

    @classmethod
    def of(cls, **values) -> "FigureInputs":
        return cls(**{f.name: np.asarray(values[f.name], dtype=float) for f in fields(cls)})


@dataclass(frozen=True)
class Figures:
    """Every computed figure of valuation.declared (a field of the same name), and the
    intermediate values the customer page explains them with."""

    historic_value: np.ndarray
    revenue_12m: np.ndarray
    p_alive: np.ndarray
    expected_transactions: np.ndarray  # over the horizon
    expected_spend: np.ndarray  # revenue per future transaction
    margin_ratio: np.ndarray
    margin_per_transaction: np.ndarray
    gross_clv: np.ndarray  # discounted expected margin before cost to serve
    expected_cost_to_serve: np.ndarray
    predicted_clv: np.ndarray
    share_of_customer: np.ndarray
    share_of_needs: np.ndarray
    growth_potential: np.ndarray
    experience_score: np.ndarray
    experience_terms: dict[str, np.ndarray]
    new: np.ndarray  # no purchase yet: tier "new", valued as a prospect
    prospect_value: np.ndarray  # NaN but for customers with no purchase yet
    wallet: np.ndarray  # the wallet share and growth use: stated, estimated or inferred
    inferred_wallet: np.ndarray  # NaN where stated or estimated (or no peers)
    wallet_quantile: np.ndarray
    wallet_peers: np.ndarray
    wallet_peer_group: np.ndarray


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


def compute_figures(inputs: FigureInputs, fit: PopulationFit, params: ValuationParams) -> Figures:
    has_history = inputs.transaction_days > 0
    frequency = np.maximum(inputs.transaction_days - 1, 0)
    # Customers who never bought are not yet "born" in the purchase model: no transactions are
    # predicted for them and they count as alive for the cost to serve.
    unit = fit.time_unit_days
    t_x = np.where(has_history, inputs.days_first_to_last, 0.0) / unit
    T = np.where(has_history, inputs.days_since_first, 0.0) / unit

    margin_ratio = np.nan_to_num(_ratio(inputs.margin_total, inputs.revenue_total))
    priors = fit.priors
    if priors is not None:
        # A prospect has no margin of their own yet: the population's.
        margin_ratio = np.where(has_history, margin_ratio, priors.margin_ratio)
    repeat_value = _ratio(inputs.revenue_total - inputs.first_day_revenue, frequency)
    repeat_value = np.where(frequency > 0, np.nan_to_num(repeat_value), 0.0)
    horizon_units = params.horizon_months * DAYS_PER_MONTH / unit

    if fit.uses_model:
        # uses_model is exactly "both parameter sets are present".
        assert fit.purchase_model is not None and fit.gamma_gamma is not None
        model = fit.purchase_model
        p_alive = model.p_alive(frequency, t_x, T)
        expected_transactions = model.expected_transactions(horizon_units, frequency, t_x, T)
        expected_spend = gamma_gamma.conditional_expected_value(
            fit.gamma_gamma, frequency, repeat_value
        )
        margin_per_transaction = expected_spend * margin_ratio
        gross_clv = clv.predicted_clv(
            model,
            frequency,
            t_x,
            T,
            margin_per_transaction,
            horizon_months=params.horizon_months,
            annual_discount_rate=params.annual_discount_rate,
            time_units_per_month=DAYS_PER_MONTH / unit,
        )
    else:
        # Too few customers to fit: each customer's own average order, at their own rate.
        expected_spend = np.nan_to_num(_ratio(inputs.revenue_total, inputs.transaction_days))
        margin_per_transaction = expected_spend * margin_ratio
        estimate = clv.simple_clv_estimate(
            frequency,
            t_x,
            T,
            margin_per_transaction,
            horizon_months=params.horizon_months,
            annual_discount_rate=params.annual_discount_rate,
            time_units_per_month=DAYS_PER_MONTH / unit,
        )
        p_alive, expected_transactions = estimate.p_alive, estimate.expected_transactions
        gross_clv = estimate.clv
    p_alive = np.where(has_history, p_alive, np.nan)
    expected_transactions = np.where(has_history, expected_transactions, 0.0)
    # A customer with no purchase yet is worth their prospect value (docs/valuation.md).
    if priors is None:
        prospect = np.full(has_history.shape, np.nan)
    else:
        late = np.nan_to_num(inputs.tenure_days) >= priors.window_days
        prospect = np.where(late, priors.late_prospect_value, priors.prospect_value)
    prospect = np.where(has_history, np.nan, prospect)
    gross_clv = np.where(has_history, gross_clv, np.nan_to_num(prospect))
    wallet = _wallets(inputs, priors)

    expected_cost = clv.expected_cost_to_serve(
        inputs.cost_to_serve_12m,
        np.where(has_history, p_alive, 1.0),
        horizon_months=params.horizon_months,
        annual_discount_rate=params.annual_discount_rate,
    )
    predicted = gross_clv - expected_cost
    growth = clv.growth_potential(
        wallet["wallet"],
        params.target_share,
        margin_ratio,
        np.where(has_history, p_alive, 1.0),
        predicted,
        horizon_months=params.horizon_months,
        annual_discount_rate=params.annual_discount_rate,
    )
    terms = {
        "product_quality": experience.rating_to_unit(inputs.own_rating),
        "interactive": experience.interactive_experience(
            inputs.on_time_share, experience.rating_to_unit(inputs.satisfaction)
        ),
        "others_opinion": experience.rating_to_unit(inputs.others_rating),
        "tenure": experience.tenure_factor(
            inputs.tenure_days, half_life_days=params.tenure_half_life_days
        ),
    }
    return Figures(
        historic_value=inputs.margin_total - inputs.cost_to_serve_total,
        revenue_12m=inputs.revenue_12m,
        p_alive=p_alive,
        expected_transactions=expected_transactions,
        expected_spend=expected_spend,
        margin_ratio=margin_ratio,
        margin_per_transaction=margin_per_transaction,
        gross_clv=gross_clv,
        expected_cost_to_serve=expected_cost,
        predicted_clv=predicted,
        share_of_customer=clv.share_of_customer(inputs.revenue_12m, wallet["wallet"]),
        share_of_needs=_ratio(inputs.needs_met, inputs.needs_known),
        growth_potential=growth,
        experience_score=experience.experience_score(
            terms["product_quality"],
            terms["interactive"],
            terms["others_opinion"],
            terms["tenure"],
        ),
        experience_terms=terms,
        new=~has_history,
        prospect_value=prospect,
        **wallet,
    )


def _wallets(inputs: FigureInputs, priors: Priors | None) -> dict[str, np.ndarray]:
    """The stated or estimated wallet where there is one, else the wallet of the customer's
    segment (looked up in the fit's peer wallets), with its basis."""
    stated = np.isfinite(inputs.wallet_annual)
    size = stated.shape
    if priors is None:
        inferred, peers = np.full(size, np.nan), np.zeros(size, dtype=np.int64)
        group, quantile = np.full(size, "", dtype=object), np.full(size, np.nan)
    else:
        peer = priors.peer_wallets
        segment = wallets.segment_of(
            inputs.is_organization, inputs.people_served, inputs.needs_known, inputs.tenure_days
        )
        inferred, peers, group = peer.wallet[segment], peer.peers[segment], peer.labels[segment]
        quantile = np.full(size, peer.quantile)
    used = ~stated & np.isfinite(inferred)
    return {
        "wallet": np.where(stated, inputs.wallet_annual, inferred),
        "inferred_wallet": np.where(used, inferred, np.nan),
        "wallet_quantile": np.where(used, quantile, np.nan),
        "wallet_peers": np.where(used, peers, 0),
        "wallet_peer_group": np.where(used, group, ""),
    }


def assign_tiers(figures: Figures, fit: PopulationFit) -> np.ndarray:
    """Tiers by the thresholds of the latest fit; before any fit, by sign alone. A customer
    with no purchase yet is "new", whatever their value."""
    clv_threshold = np.inf if fit.clv_threshold is None else fit.clv_threshold
    growth_threshold = np.inf if fit.growth_threshold is None else fit.growth_threshold
    return tiers.assign_tiers(
        figures.predicted_clv,
        figures.growth_potential,
        clv_threshold,
        growth_threshold,
        new=figures.new,
    )
