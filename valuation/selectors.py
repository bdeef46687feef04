"""Reads that feed the valuation engine: settings, the current fit, and customers' inputs.

`valuation_batch` loads the inputs of one customer or of the whole base in the same handful of
queries (GROUP BY in the database, columns into NumPy): never one query per customer.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypedDict

import numpy as np
from django.db.models import Avg, Count, F, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from customers.models import Customer, CustomerFact, FactKind, NeedStatus
from customers.selectors import scoped_to_customers
from interactions import selectors as interaction_selectors
from interactions.choices import SERVICE_TYPES, InteractionType
from interactions.models import Interaction, OrderLine

from .figures import FigureInputs, PopulationFit, ValuationParams, compute_figures
from .models import CustomerFigures, FitMethod, FitStatus, ModelFit, ValuationSettings
from .numerics import bgnbd, gamma_gamma
from .summary import LINE_REVENUE

YEAR = timedelta(days=365)


@dataclass(frozen=True)
class ValuationContext:
    params: ValuationParams
    fit: PopulationFit
    model_fit: ModelFit | None
    method: str


def latest_fit() -> ModelFit | None:
    return ModelFit.objects.filter(status=FitStatus.DONE).order_by("-fitted_at", "-id").first()


def population_fit_of(model_fit: ModelFit | None) -> PopulationFit:
    if model_fit is None or model_fit.method != FitMethod.MODEL:
        return PopulationFit(
            time_unit_days=7.0,
            bgnbd=None,
            gamma_gamma=None,
            clv_threshold=model_fit.clv_threshold if model_fit else None,
            growth_threshold=model_fit.growth_threshold if model_fit else None,
        )
    return PopulationFit(
        time_unit_days=model_fit.time_unit_days,
        # valuation_fit_run sets the parameters together with method MODEL (no database
        # constraint says so, hence the ignores rather than asserts).
        bgnbd=bgnbd.BgNbdParams(
            r=model_fit.bgnbd_r,  # type: ignore[arg-type]  # set with method MODEL
            alpha=model_fit.bgnbd_alpha,  # type: ignore[arg-type]  # set with method MODEL
            a=model_fit.bgnbd_a,  # type: ignore[arg-type]  # set with method MODEL
            b=model_fit.bgnbd_b,  # type: ignore[arg-type]  # set with method MODEL
        ),
        gamma_gamma=gamma_gamma.GammaGammaParams(
            p=model_fit.gg_p,  # type: ignore[arg-type]  # set with method MODEL
            q=model_fit.gg_q,  # type: ignore[arg-type]  # set with method MODEL
            gamma=model_fit.gg_gamma,  # type: ignore[arg-type]  # set with method MODEL
        ),
        clv_threshold=model_fit.clv_threshold,
        growth_threshold=model_fit.growth_threshold,
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


def customers_waiting_for_figures(*, exclude: int, limit: int) -> list[int]:
    """Customers whose figures lag their data, the longest waiting first (a partial index)."""
    return list(
        CustomerFigures.objects.filter(figures_computed_version__lt=F("figures_version"))
        .exclude(pk=exclude)
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

    `value_only` loads only what predicted CLV and growth potential need (three queries), for
    drawing the tier thresholds over the whole base; the other inputs are left unknown.
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
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in range(15)]
    (
        ids,
        versions,
        owner_ids,
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
        other_inputs = _inputs_other_than_value(ids, scope, interactions, lines, since)

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
        tenure_days=np.maximum(_days_between([today] * len(ids), first_seen), 0),
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


# Inputs that feed neither predicted CLV nor growth potential (so not the tier thresholds).
OTHER_THAN_VALUE = (
    "revenue_12m",
    "own_rating",
    "others_rating",
    "on_time_share",
    "satisfaction",
    "needs_met",
    "needs_known",
)


def _inputs_other_than_value(
    ids, scope, interactions, lines, since, *, revenue_12m: bool = True
) -> dict:
    """Share of customer, experience and share of needs inputs, in six queries (five without
    `revenue_12m`: valuation.bulk sums it by COPY)."""
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

    facts = scoped_to_customers(
        CustomerFact.objects.filter(is_current=True, key__kind=FactKind.NEED), **scope
    )
    needs = list(
        facts.values(cid=F("customer_id"))
        .annotate(known=Count("id"), met=Count("id", filter=Q(need_status=NeedStatus.MET_BY_US)))
        .order_by()
    )
    revenue = (
        {}
        if revenue_rows is None
        else {"revenue_12m": np.nan_to_num(_spread(ids, revenue_rows, "total"))}
    )
    return {
        **revenue,
        "own_rating": _spread(ids, own_ratings, "mean"),
        "others_rating": _spread(ids, others_ratings, "mean"),
        "on_time_share": on_time_share,
        "satisfaction": _spread(ids, satisfaction_rows, "mean"),
        "needs_met": _spread(ids, needs, "met"),
        "needs_known": _spread(ids, needs, "known"),
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


@dataclass(frozen=True)
class Explanation:
    """Why a customer's figures are what they are: the inputs, the model and its parameters."""

    method: str
    model_fit: ModelFit | None
    params: ValuationParams
    inputs: dict
    intermediates: dict


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
        )
    }
    intermediates.update(
        {f"experience_{name}": first(value) for name, value in figures.experience_terms.items()}
    )
    return Explanation(context.method, context.model_fit, context.params, inputs, intermediates)


def customer_figures_of(customer) -> CustomerFigures | None:
    """The customer's figures row (None: no figures yet); no query when it was selected with
    the customer (select_related("figures"))."""
    try:
        return customer.figures
    except CustomerFigures.DoesNotExist:
        return None
