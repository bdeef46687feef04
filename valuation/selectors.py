"""Reads that feed the valuation engine: settings, the current fit, and customers' inputs.

`valuation_batch` loads the inputs of one customer or of the whole base in the same handful of
queries (GROUP BY in the database, columns into NumPy): never one query per customer.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

import numpy as np
from django.db.models import (
    Avg,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from customers.models import (
    Customer,
    CustomerFact,
    CustomerKind,
    FactKind,
    FactValueType,
    NeedStatus,
)
from customers.selectors import scoped_to_customers
from interactions import selectors as interaction_selectors
from interactions.choices import SERVICE_TYPES, InteractionType
from interactions.models import Interaction, OrderLine

from .figures import FigureInputs, PopulationFit, Priors, ValuationParams, compute_figures
from .models import (
    CustomerFigures,
    FitMethod,
    FitPriors,
    FitStatus,
    ModelFit,
    ValuationSettings,
)
from .numerics import bgnbd, gamma_gamma, wallets
from .numerics.purchase import LABELS, MODEL_NAMES, PARAMETER_NAMES, PurchaseModel
from .summary import LINE_REVENUE

YEAR = timedelta(days=365)


@dataclass(frozen=True)
class ValuationContext:
    params: ValuationParams
    fit: PopulationFit
    model_fit: ModelFit | None
    method: str


def latest_fit() -> ModelFit | None:
    return (
        ModelFit.objects.filter(status=FitStatus.DONE)
        .select_related("priors")
        .order_by("-fitted_at", "-id")
        .first()
    )


def fit_priors_of(model_fit: ModelFit | None) -> FitPriors | None:
    """The fit's priors (None: a fit from before they existed); no query when selected with
    the fit (latest_fit) or set on it (valuation.services.valuation_fit_run)."""
    if model_fit is None:
        return None
    try:
        return model_fit.priors
    except FitPriors.DoesNotExist:
        return None


def priors_of(stored: FitPriors | None) -> Priors | None:
    if stored is None:
        return None
    peer = stored.peer_wallets
    return Priors(
        prospect_value=stored.prospect_value,
        late_prospect_value=stored.late_prospect_value,
        window_days=stored.conversion_window_days,
        margin_ratio=stored.margin_ratio,
        peer_wallets=wallets.PeerWallets(
            wallet=np.array(peer["wallet"], dtype=float),  # None (no peers) becomes NaN
            peers=np.array(peer["peers"], dtype=np.int64),
            level=np.array(peer["level"], dtype=np.int64),
            quantile=stored.wallet_quantile,
            min_peers=stored.wallet_min_peers,
        ),
    )


def purchase_model_of(model_fit: ModelFit) -> PurchaseModel | None:
    """The fit's chosen purchase model; BG/NBD from its columns for a fit made before the
    choice existed."""
    if model_fit.chosen_model:
        entry = model_fit.candidates.get(model_fit.chosen_model)
        if entry is None:
            return None
        return PurchaseModel.of(model_fit.chosen_model, entry["params"])
    if model_fit.bgnbd_r is None:
        return None
    return PurchaseModel(
        "bgnbd",
        bgnbd.BgNbdParams(
            r=model_fit.bgnbd_r,
            alpha=model_fit.bgnbd_alpha,  # type: ignore[arg-type]  # set with bgnbd_r
            a=model_fit.bgnbd_a,  # type: ignore[arg-type]  # set with bgnbd_r
            b=model_fit.bgnbd_b,  # type: ignore[arg-type]  # set with bgnbd_r
        ),
    )


def population_fit_of(model_fit: ModelFit | None) -> PopulationFit:
    priors = priors_of(fit_priors_of(model_fit))
    if model_fit is None or model_fit.method != FitMethod.MODEL:
        return PopulationFit(
            time_unit_days=7.0,
            purchase_model=None,
            gamma_gamma=None,
            clv_threshold=model_fit.clv_threshold if model_fit else None,
            growth_threshold=model_fit.growth_threshold if model_fit else None,
            priors=priors,
        )
    return PopulationFit(
        time_unit_days=model_fit.time_unit_days,
        purchase_model=purchase_model_of(model_fit),
        # valuation_fit_run sets the parameters together with method MODEL (the database
        # constraint model_fit_has_parameters says so, which mypy cannot see).
        gamma_gamma=gamma_gamma.GammaGammaParams(
            p=model_fit.gg_p,  # type: ignore[arg-type]  # set with method MODEL
            q=model_fit.gg_q,  # type: ignore[arg-type]  # set with method MODEL
            gamma=model_fit.gg_gamma,  # type: ignore[arg-type]  # set with method MODEL
        ),
        clv_threshold=model_fit.clv_threshold,
        growth_threshold=model_fit.growth_threshold,
        priors=priors,
    )


def valuation_params(settings: ValuationSettings) -> ValuationParams:
    return ValuationParams(
        horizon_months=settings.horizon_months,
        annual_discount_rate=float(settings.annual_discount_rate),
        target_share=float(settings.target_share_of_customer),
        tenure_half_life_days=float(settings.tenure_half_life_days),
    )


def valuation_context(*, fit: ModelFit | None = None) -> ValuationContext:
    """Settings and the fit to apply (default: the latest completed fit). Two queries."""
    settings = ValuationSettings.current()
    model_fit = fit if fit is not None else latest_fit()
    population = population_fit_of(model_fit)
    method = FitMethod.MODEL if population.uses_model else FitMethod.FALLBACK
    return ValuationContext(valuation_params(settings), population, model_fit, method)


@dataclass(frozen=True)
class ValuationBatch:
    customer_ids: np.ndarray
    versions: np.ndarray
    owner_ids: list  # the customers' owners (None: nobody's), copied onto their figures rows
    interaction_count: np.ndarray
    last_contact_at: list
    inputs: FigureInputs


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _days_between(later, earlier) -> np.ndarray:
    later = np.array(later, dtype="datetime64[D]")
    earlier = np.array(earlier, dtype="datetime64[D]")
    days = (later - earlier).astype("timedelta64[D]").astype(float)
    return np.where(np.isnat(later) | np.isnat(earlier), np.nan, days)


def _spread(ids: np.ndarray, rows, column: str) -> np.ndarray:
    """Place a per-customer column from a GROUP BY query at the positions of `ids`."""
    out = np.full(len(ids), np.nan)
    if rows:
        keys = np.array([row["cid"] for row in rows], dtype=np.int64)
        values = _floats(row[column] for row in rows)
        positions = np.searchsorted(ids, keys)
        out[positions] = values
    return out


def channel_costs_decimal() -> dict[str, Decimal]:
    """Cost per service contact by channel, as the admin set it."""
    return interaction_selectors.channel_costs()


def customers_waiting_for_figures(*, exclude: list[int], limit: int) -> list[int]:
    """Customers whose figures lag their data, the longest waiting first (a partial index)."""
    return list(
        CustomerFigures.objects.filter(figures_computed_version__lt=F("figures_version"))
        .exclude(pk__in=exclude)
        .order_by("figures_requested_at")
        .values_list("pk", flat=True)[:limit]
    )


def customers_with_stale_figures(*, older_than: timedelta) -> QuerySet[Customer]:
    """Customers whose figures lag their data for longer than a recompute normally takes."""
    cutoff = timezone.now() - older_than
    return Customer.objects.filter(
        figures__figures_computed_version__lt=F("figures__figures_version"),
        figures__figures_requested_at__lt=cutoff,
    )


def customers_figures_lag(*, older_than: timedelta) -> dict:
    """How far the figures lag: customers waiting longer than `older_than`, and the oldest wait.

    `oldest_pending_seconds` counts every pending recompute (None when nothing is pending).
    """
    now = timezone.now()
    pending = CustomerFigures.objects.filter(figures_computed_version__lt=F("figures_version"))
    oldest = pending.aggregate(oldest=Min("figures_requested_at"))["oldest"]
    return {
        "lagging": pending.filter(figures_requested_at__lt=now - older_than).count(),
        "oldest_pending_seconds": None if oldest is None else int((now - oldest).total_seconds()),
    }


class CustomerScope(TypedDict):
    """The keyword arguments of scoped_to_customers that pick the customers."""

    customer_ids: list[int] | None
    id_range: tuple[int, int] | None


def valuation_batch(
    *,
    customer_ids=None,
    id_range: tuple[int, int] | None = None,
    today: date,
    value_only: bool = False,
) -> ValuationBatch:
    """Inputs of the given customers (ids, or an id range; default: all), in nine queries.

    `value_only` loads only what predicted CLV, growth potential and the inferred wallets need
    (five queries), for drawing the tier thresholds and the peer wallets over the whole base;
    the other inputs are left unknown.
    """
    scope: CustomerScope = {
        "customer_ids": None if customer_ids is None else list(customer_ids),
        "id_range": id_range,
    }
    customers = scoped_to_customers(Customer.objects.all(), "pk", **scope)
    interactions = scoped_to_customers(Interaction.objects.all(), **scope)
    lines = scoped_to_customers(OrderLine.objects.all(), "interaction__customer_id", **scope)

    # The versions are read with (and so before) the data below.
    rows = list(
        customers.order_by("pk").values_list(
            "pk",
            "figures__figures_version",
            "owner_id",
            "kind",
            "wallet_annual",
            "acquired_on",
            "created_at",
            "summary__interactions",
            "summary__last_contact_at",
            "summary__transaction_days",
            "summary__first_transaction_on",
            "summary__last_transaction_on",
            "summary__revenue_total",
            "summary__margin_total",
            "summary__first_day_revenue",
            "summary__cost_to_serve_total",
        )
    )
    # One column per selected value, of mixed types (ids is rebound to an array below).
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in range(16)]
    (
        ids,
        versions,
        owner_ids,
        kind,
        wallet,
        acquired_on,
        created_at,
        interaction_count,
        last_contact,
        transaction_days,
        first_on,
        last_on,
        revenue,
        margin,
        first_day_revenue,
        cost_total,
    ) = columns
    ids = np.array(ids, dtype=np.int64)
    since = timezone.now() - YEAR

    costs = {channel: float(cost) for channel, cost in channel_costs_decimal().items()}
    cost_rows = (
        interactions.filter(type__in=SERVICE_TYPES, occurred_at__gte=since)
        .values("channel", cid=F("customer_id"))
        .annotate(n=Count("id"))
        .order_by()
    )
    cost_12m = np.zeros(len(ids))
    for row in cost_rows:
        cost_12m[np.searchsorted(ids, row["cid"])] += row["n"] * costs.get(row["channel"], 0.0)
    if value_only:
        unknown = np.full(len(ids), np.nan)
        other_inputs = {name: unknown for name in OTHER_THAN_VALUE}
    else:
        other_inputs = _inputs_other_than_value(ids, scope, interactions)
    wallet_inputs = _wallet_inputs(ids, scope, lines, since)

    first_seen = [
        a if a is not None else c.date() for a, c in zip(acquired_on, created_at, strict=True)
    ]
    inputs = FigureInputs.of(
        transaction_days=np.nan_to_num(_floats(transaction_days)),
        days_since_first=_days_between([today] * len(ids), first_on),
        days_first_to_last=_days_between(last_on, first_on),
        revenue_total=np.nan_to_num(_floats(revenue)),
        margin_total=np.nan_to_num(_floats(margin)),
        first_day_revenue=np.nan_to_num(_floats(first_day_revenue)),
        cost_to_serve_total=np.nan_to_num(_floats(cost_total)),
        cost_to_serve_12m=cost_12m,
        wallet_annual=_floats(wallet),
        is_organization=(np.array(kind, dtype=object) == CustomerKind.ORGANIZATION).astype(float),
        tenure_days=np.maximum(_days_between([today] * len(ids), first_seen), 0),
        **wallet_inputs,
        **other_inputs,
    )
    return ValuationBatch(
        customer_ids=ids,
        # A customer without a figures row has had nothing requested: version 0.
        versions=np.array([version or 0 for version in versions], dtype=np.int64),
        owner_ids=list(owner_ids),
        interaction_count=np.nan_to_num(_floats(interaction_count)).astype(int),
        last_contact_at=list(last_contact),
        inputs=inputs,
    )


# Inputs that feed neither predicted CLV nor growth potential nor the inferred wallets (so not
# the tier thresholds nor the peer wallets).
OTHER_THAN_VALUE = (
    "own_rating",
    "others_rating",
    "on_time_share",
    "satisfaction",
)


# A customer's size (people served): the largest number of their current size facts. Number
# facts are validated as numbers when recorded (customers.facts), so a cast to float holds.
SIZE_FACT = Q(key__kind=FactKind.SIZE, key__value_type=FactValueType.NUMBER)


def _wallet_inputs(ids, scope, lines, since, *, revenue_12m: bool = True) -> dict:
    """What share of customer and a peer's wallet need: trailing-12-month revenue, known and
    met needs, the size fact (the largest number of a current size fact). Two queries (one
    without `revenue_12m`: valuation.bulk sums it by COPY)."""
    revenue_rows = (
        list(
            lines.filter(
                interaction__type=InteractionType.ORDER, interaction__occurred_at__gte=since
            )
            .values(cid=F("interaction__customer_id"))
            .annotate(total=Sum(LINE_REVENUE))
            .order_by()
        )
        if revenue_12m
        else None
    )
    size = SIZE_FACT
    facts = scoped_to_customers(
        CustomerFact.objects.filter(Q(key__kind=FactKind.NEED) | size, is_current=True), **scope
    )
    needs = list(
        facts.values(cid=F("customer_id"))
        .annotate(
            known=Count("id", filter=Q(key__kind=FactKind.NEED)),
            met=Count("id", filter=Q(key__kind=FactKind.NEED, need_status=NeedStatus.MET_BY_US)),
            people=Max(Cast("value", FloatField()), filter=size),
        )
        .order_by()
    )
    known = _spread(ids, needs, "known")
    revenue = (
        {}
        if revenue_rows is None
        else {"revenue_12m": np.nan_to_num(_spread(ids, revenue_rows, "total"))}
    )
    return {
        **revenue,
        # No need known is unknown (NaN), as a customer with only a size fact.
        "needs_met": np.where(known > 0, _spread(ids, needs, "met"), np.nan),
        "needs_known": np.where(known > 0, known, np.nan),
        "people_served": _spread(ids, needs, "people"),
    }


def _inputs_other_than_value(ids, scope, interactions) -> dict:
    """Experience inputs, in four queries."""
    # Interactive experience: the share of inquiries and complaints answered within their
    # service-level target (answered, or past due without an answer, count as decided).
    service = [
        {
            "cid": row["customer_id"],
            "on_time": row["answered_in_time"],
            "due": row["answered_in_time"] + row["answered_late"] + row["unanswered_overdue"],
        }
        for row in interaction_selectors.service_level_stats_by_customer(**scope)
    ]
    satisfaction_rows = list(
        interactions.filter(satisfaction__isnull=False)
        .values(cid=F("customer_id"))
        .annotate(mean=Avg("satisfaction"))
        .order_by()
    )
    own_ratings, others_ratings = interaction_selectors.ratings_by_customer(**scope)
    own_ratings = [{"cid": r["customer_id"], "mean": r["mean"]} for r in own_ratings]
    others_ratings = [{"cid": r["customer_id"], "mean": r["mean"]} for r in others_ratings]
    on_time_count, due_count = _spread(ids, service, "on_time"), _spread(ids, service, "due")
    with np.errstate(invalid="ignore", divide="ignore"):
        on_time_share = np.where(due_count > 0, on_time_count / due_count, np.nan)
    return {
        "own_rating": _spread(ids, own_ratings, "mean"),
        "others_rating": _spread(ids, others_ratings, "mean"),
        "on_time_share": on_time_share,
        "satisfaction": _spread(ids, satisfaction_rows, "mean"),
    }


def customer_id_ranges(*, size: int) -> list[tuple[int, int]]:
    """The customer base cut into ranges of `size` customers: (first id, last id), in id order.

    Each range is a range of the nightly recompute; ids are read once (one query)."""
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    return [
        (ids[start], ids[min(start + size, len(ids)) - 1]) for start in range(0, len(ids), size)
    ]


def transactions_up_to(as_of: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer ids, days, revenue) of every transaction day up to `as_of`, in one query."""
    rows = (
        OrderLine.objects.filter(
            interaction__type=InteractionType.ORDER,
            interaction__occurred_at__date__lte=as_of,
        )
        .values_list("interaction__customer_id", TruncDate("interaction__occurred_at"))
        .annotate(revenue=Sum(LINE_REVENUE))  # type: ignore[no-redef]  # a values_list() column
        .order_by()
    )
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[], [], []]
    return (
        np.array(columns[0], dtype=np.int64),
        np.array(columns[1], dtype="datetime64[D]"),
        np.array(columns[2], dtype=float),
    )


def prospect_conversion_counts(*, as_of: date, window_days: int) -> dict[str, int]:
    """How prospects became customers, in one query. A prospect is a customer first seen
    (acquired, else created) without a purchase: one who bought that day or before (acquired
    as a buyer, imported with their history) never was one.

    - `seen`: prospects first seen at least `window_days` before `as_of`; `converted`: those of
      them whose first transaction came within `window_days` of being first seen;
    - `late_seen`: prospects first seen at least two windows before `as_of` who had not bought
      in the first; `late_converted`: those of them who bought in the second.
    """
    window = timedelta(days=window_days)
    first_seen = Coalesce("acquired_on", TruncDate("created_at"), output_field=DateField())
    # Not bought by a day includes never bought (no first transaction): hence the negations.
    in_first = Q(summary__first_transaction_on__lte=F("first_end"))
    late = Q(first_seen__lte=as_of - 2 * window) & ~in_first
    return (
        Customer.objects.annotate(first_seen=first_seen)
        .filter(first_seen__lte=as_of - window)
        .exclude(summary__first_transaction_on__lte=F("first_seen"))
        .annotate(
            first_end=ExpressionWrapper(F("first_seen") + window, output_field=DateField()),
            second_end=ExpressionWrapper(F("first_seen") + 2 * window, output_field=DateField()),
        )
        .aggregate(
            seen=Count("pk"),
            converted=Count("pk", filter=in_first),
            late_seen=Count("pk", filter=late),
            late_converted=Count(
                "pk", filter=late & Q(summary__first_transaction_on__lte=F("second_end"))
            ),
        )
    )


@dataclass(frozen=True)
class Explanation:
    """Why a customer's figures are what they are: the inputs, the model and its parameters."""

    method: str
    model_fit: ModelFit | None
    params: ValuationParams
    inputs: dict
    intermediates: dict
    priors: FitPriors | None = None  # the fit's prospect and peer-wallet basis
    wallet_source: str = ""  # stated, estimated, inferred or "" (none)
    wallet_peer_group: str = ""
    purchase_model: PurchaseModel | None = None  # the fit's chosen model (None: fallback)


def customer_valuation_explained(*, customer_id: int) -> Explanation:
    context = valuation_context()
    batch = valuation_batch(customer_ids=[customer_id], today=timezone.localdate())
    figures = compute_figures(batch.inputs, context.fit, context.params)  # as the worker did

    def first(values):
        value = float(values[0])
        return None if np.isnan(value) else value

    inputs = {
        name: first(getattr(batch.inputs, name))
        for name in (
            "transaction_days",
            "days_since_first",
            "days_first_to_last",
            "revenue_total",
            "margin_total",
            "first_day_revenue",
            "cost_to_serve_total",
            "revenue_12m",
            "cost_to_serve_12m",
            "wallet_annual",
            "tenure_days",
            "own_rating",
            "others_rating",
            "on_time_share",
            "satisfaction",
        )
    }
    intermediates = {
        name: first(getattr(figures, name))
        for name in (
            "p_alive",
            "expected_transactions",
            "expected_spend",
            "margin_ratio",
            "margin_per_transaction",
            "gross_clv",
            "expected_cost_to_serve",
            "predicted_clv",
            "growth_potential",
            "share_of_customer",
            "experience_score",
            "prospect_value",
            "wallet",
            "inferred_wallet",
            "wallet_quantile",
            "wallet_peers",
        )
    }
    intermediates.update(
        {f"experience_{name}": first(value) for name, value in figures.experience_terms.items()}
    )
    intermediates["new"] = bool(figures.new[0])
    priors = fit_priors_of(context.model_fit)
    # Which of the fit's two conversion rates the prospect value used (figures.compute_figures).
    intermediates["prospect_late"] = bool(
        figures.new[0]
        and priors is not None
        and (inputs["tenure_days"] or 0) >= priors.conversion_window_days
    )
    return Explanation(
        context.method,
        context.model_fit,
        context.params,
        inputs,
        intermediates,
        priors=priors,
        wallet_source=wallet_source_of(
            stated_source=Customer.objects.filter(pk=customer_id)
            .values_list("wallet_source", flat=True)
            .first()
            or "",
            stated=inputs["wallet_annual"] is not None,
            inferred=intermediates["inferred_wallet"] is not None,
        ),
        wallet_peer_group=str(figures.wallet_peer_group[0]),
        purchase_model=context.fit.purchase_model,
    )


@dataclass(frozen=True)
class ValuationInWords:
    """The first line of the "why" panel, for people rather than analysts: how often the
    customer is expected to buy over the horizon, about how much each time (None: left out,
    for those who may not see money, or unknown) and how likely they are still active."""

    times: str  # "about 3 more times", "about once more", "less than once"
    horizon: str  # "3 years", "18 months"
    spend: Decimal | None  # rounded, shown with the money filter
    active_percent: str | None  # "82", "under 1"; None: unknown


def times_in_words(expected: float) -> str:
    """Expected transactions as a person would say them: rounded, never falsely precise."""
    if expected < 0.75:
        return "less than once"
    if expected < 1.5:
        return "about once more"
    if expected < 2.5:
        return "about twice more"
    return f"about {int(expected + 0.5)} more times"


def horizon_in_words(months: int) -> str:
    if months % 12 == 0:
        years = months // 12
        return "year" if years == 1 else f"{years} years"
    return "month" if months == 1 else f"{months} months"


def spend_rounded(amount: float) -> Decimal:
    """Whole units, and two significant figures from 100 up ("about €1,200", not €1,234)."""
    if amount >= 100:
        return Decimal(str(float(f"{amount:.2g}"))).quantize(Decimal("1"))
    return Decimal(round(amount))


def percent_in_words(p: float) -> str:
    """A probability as a whole percentage that never rounds to a certainty it is not."""
    percent = round(p * 100)
    if percent == 0 and p > 0:
        return "under 1"
    if percent == 100 and p < 1:
        return "99"
    return str(percent)


def valuation_in_words(explanation: Explanation, *, with_money: bool) -> ValuationInWords | None:
    """The plain-language summary of an explanation (None for a customer without a purchase
    yet: the panel explains the prospect value instead). Built from the same figures as the
    analyst detail below it, so the two never disagree."""
    values = explanation.intermediates
    if values.get("new") or values.get("expected_transactions") is None:
        return None
    spend = values.get("expected_spend")
    p_alive = values.get("p_alive")
    return ValuationInWords(
        times=times_in_words(values["expected_transactions"]),
        horizon=horizon_in_words(explanation.params.horizon_months),
        spend=spend_rounded(spend) if with_money and spend is not None else None,
        active_percent=percent_in_words(p_alive) if p_alive is not None else None,
    )


def wallet_source_of(*, stated_source: str, stated: bool, inferred: bool) -> str:
    """Where the wallet the figures use comes from: as the customer's record says (stated or
    estimated; stated when it says nothing), inferred from peers, or "" (no wallet)."""
    if stated:
        return stated_source or "stated"
    return "inferred" if inferred else ""


def customer_figures_of(customer) -> CustomerFigures | None:
    """The customer's figures row (None: no figures yet); no query when it was selected with
    the customer (select_related("figures"))."""
    try:
        return customer.figures
    except CustomerFigures.DoesNotExist:
        return None


@dataclass(frozen=True)
class ModelCheck:
    """What an analyst checks before trusting a fit: every candidate purchase model, and how
    each fitted on the calibration period forecast the holdout (tracking: cumulative repeat
    transactions week by week; conditional: mean holdout transactions by number of calibration
    purchases). Shaped for the model page's tables and charts."""

    fit: ModelFit
    candidates: list[dict]
    holdout: dict | None
    tracking: dict | None
    by_frequency: dict | None


def model_check(*, fit_id: int | None = None) -> ModelCheck | None:
    """The check of a fit (default: the latest completed one), from what the refit stored on
    it: one query whatever the size of the base."""
    model_fit = (
        latest_fit()
        if fit_id is None
        else ModelFit.objects.filter(pk=fit_id, status=FitStatus.DONE).first()
    )
    if model_fit is None:
        return None

    def ordered(name: str, params: dict) -> list:
        # JSON objects come back from PostgreSQL with their keys sorted: the model's order.
        return [(key, params[key]) for key in PARAMETER_NAMES[name]]

    holdout = model_fit.holdout
    chosen = model_fit.chosen_model or ("bgnbd" if model_fit.method == FitMethod.MODEL else "")
    candidates = []
    for name in MODEL_NAMES:
        entry = model_fit.candidates.get(name)
        if entry is None and name == "bgnbd" and model_fit.bgnbd_r is not None:
            entry = {
                "params": {
                    "r": model_fit.bgnbd_r,
                    "alpha": model_fit.bgnbd_alpha,
                    "a": model_fit.bgnbd_a,
                    "b": model_fit.bgnbd_b,
                },
                "log_likelihood": model_fit.bgnbd_log_likelihood,
                "converged": True,
            }
        if entry is None:
            continue
        row = {
            "name": name,
            "label": LABELS[name],
            "params": ordered(name, entry["params"]),
            "log_likelihood": entry["log_likelihood"],
            "converged": entry["converged"],
            "chosen": name == chosen,
        }
        if holdout is not None:
            calibration = holdout["calibration"][name]
            predicted = holdout["predicted"][name]
            row.update(
                calibration_params=ordered(name, calibration["params"]),
                calibration_log_likelihood=calibration["log_likelihood"],
                predicted=predicted,
                error=predicted - holdout["actual"],
                relative_error=(
                    (predicted - holdout["actual"]) / holdout["actual"]
                    if holdout["actual"]
                    else None
                ),
            )
        candidates.append(row)
    tracking = by_frequency = None
    if holdout is not None:
        weekly = holdout["weekly"]
        tracking = {
            "dates": weekly["dates"],
            "calibration_end": holdout["calibration_end"],
            "series": [{"label": "Actual", "data": weekly["actual"]}]
            + [
                {"label": LABELS[name], "data": values}
                for name, values in weekly["predicted"].items()
            ],
        }
        rows = holdout["by_frequency"]
        by_frequency = {
            "labels": [row["frequency"] for row in rows],
            "customers": [row["customers"] for row in rows],
            "series": [{"label": "Actual", "data": [row["actual"] for row in rows]}]
            + [
                {"label": LABELS[name], "data": [row["predicted"][name] for row in rows]}
                for name in MODEL_NAMES
                if name in rows[0]["predicted"]
            ],
            "rows": rows,
        }
    return ModelCheck(model_fit, candidates, holdout, tracking, by_frequency)


# --- The admins' overview ------------------------------------------------------------------


def fits_last() -> tuple[ModelFit | None, ModelFit | None]:
    """The latest fit whatever became of it, and the latest that succeeded (the figures use
    that one): the same row when the last fit is done. One query."""
    latest_id = ModelFit.objects.order_by("-created_at", "-id").values("pk")[:1]
    done_id = (
        ModelFit.objects.filter(status=FitStatus.DONE).order_by("-fitted_at", "-id").values("pk")
    )[:1]
    rows = list(
        ModelFit.objects.filter(Q(pk__in=latest_id) | Q(pk__in=done_id))
        # The candidates and the holdout check are large and shown on the model check only.
        .defer("candidates", "holdout")
        .order_by("-created_at", "-id")
    )
    latest = rows[0] if rows else None
    done = next((fit for fit in rows if fit.status == FitStatus.DONE), None)
    return latest, done


@dataclass(frozen=True)
class FiguresStaleness:
    queued: int  # their data changed since the last recompute: a recompute is due
    lagging: int  # queued for longer than a recompute normally takes (the sweeper re-sends)
    behind_contact: int  # computed before the customer's last interaction
    stale: int  # either of the two above, each customer once
    oldest_queued_at: datetime | None  # when the longest-waiting recompute was asked for


def figures_staleness(*, older_than: timedelta) -> FiguresStaleness:
    """How many customers' figures are out of date, and how. One query."""
    cutoff = timezone.now() - older_than
    queued = Q(figures_computed_version__lt=F("figures_version"))
    behind = Q(computed_at__lt=F("customer__summary__last_contact_at"))
    row = CustomerFigures.objects.aggregate(
        queued=Count("pk", filter=queued),
        lagging=Count("pk", filter=queued & Q(figures_requested_at__lt=cutoff)),
        behind_contact=Count("pk", filter=behind),
        stale=Count("pk", filter=queued | behind),
        oldest=Min("figures_requested_at", filter=queued),
    )
    return FiguresStaleness(
        queued=row["queued"],
        lagging=row["lagging"],
        behind_contact=row["behind_contact"],
        stale=row["stale"],
        oldest_queued_at=row["oldest"],
    )
