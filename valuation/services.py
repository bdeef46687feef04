"""The valuation engine's writes: recompute a customer's figures, recompute everyone, refit.

The per-interaction recompute applies the stored population fit in closed form to the
customer's running summary: a fixed number of queries whatever the length of the history.
The refit runs maximum likelihood over the whole base, draws the tier thresholds over it, then
recomputes every customer in bulk: in this process (imports, seed_demo, fit_models), or in
ranges of customer ids that a Celery group spreads over the workers (the nightly refit and the
admin's), each range applying the fit's stored parameters and thresholds.
"""

import dataclasses
import logging
import math
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from customers.models import Customer
from events.names import EventName
from events.services import event_publish
from replenishment.forecasts import purchase_forecasts_refresh

from . import bulk, history, selectors
from .declared import (
    AT_RISK_P_ALIVE,
    COMPUTED,
    FIGURE_NAMES,
    FIGURES,
    FROM_BATCH,
    FROM_METHOD,
    FROM_TIERS,
    SNAPSHOT_FIGURES,
    WATCHED_FIGURES,
    FigureType,
)
from .figures import DAYS_PER_MONTH, Figures, PopulationFit, assign_tiers, compute_figures
from .models import (
    CustomerFigures,
    CustomerSnapshot,
    CustomerSummary,
    FitMethod,
    FitPriors,
    FitStatus,
    ModelFit,
    ValuationSettings,
)
from .money import money_stored as _money
from .numerics import bgnbd, gamma_gamma, prospects, purchase, rfm, tiers, wallets
from .summary import customer_summaries_rebuild

logger = logging.getLogger(__name__)

# Rows per statement when figures are written in bulk.
WRITE_BATCH = 5000


def _unit(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


# How a declared figure's values are stored (valuation.declared).
STORED_AS: dict[FigureType, Callable[[Any], Any]] = {
    FigureType.MONEY: _money,
    FigureType.RATIO: _unit,
    FigureType.COUNT: int,
    FigureType.TEXT: str,
    FigureType.MOMENT: lambda value: value,
}

# A customer's figures as they are written: one value per declared figure, by name.
FigureValues = dict[str, Any]


def _stored_columns(
    batch: selectors.ValuationBatch, figures: Figures, tier_of: np.ndarray, method: str
) -> dict[str, list]:
    """Every declared figure of a batch as a column of the values written, by name."""
    sources: dict[str, Callable[[str], Any]] = {
        COMPUTED: lambda name: getattr(figures, name),
        FROM_BATCH: lambda name: getattr(batch, name),
        FROM_TIERS: lambda name: tier_of,
        FROM_METHOD: lambda name: [method] * len(batch.customer_ids),
    }
    columns = {}
    for figure in FIGURES:
        values = sources[figure.source](figure.name)
        values = values.tolist() if isinstance(values, np.ndarray) else list(values)
        columns[figure.name] = [STORED_AS[figure.type](value) for value in values]
    return columns


def _snapshot(customer_id: int, values: FigureValues, now) -> CustomerSnapshot:
    return CustomerSnapshot(
        customer_id=customer_id,
        taken_on=timezone.localdate(now),
        computed_at=now,
        **{name: values[name] for name in SNAPSHOT_FIGURES},
    )


SNAPSHOT_FIELDS = ["computed_at", *SNAPSHOT_FIGURES]
FIGURE_WRITE_FIELDS = [*FIGURE_NAMES, "owner_id", "computed_at", "figures_computed_version"]


def customer_figures_request(*, customer_id: int) -> None:
    """Mark the customer's figures stale and wake the worker (valuation.tasks sends their
    recompute after the commit where the mark does not wake it).

    The stale mark is written with the data, so a recompute whose task is lost is found again
    by the sweeper; inside a transaction the write also locks the customer's figures row until
    commit. The customer's first request creates their figures row: one statement either way.
    """
    customers_figures_request(customer_ids=[customer_id])


def customers_figures_request(*, customer_ids: list[int]) -> None:
    """customer_figures_request for many customers in one statement (a batch of interactions):
    each figures row's version is bumped once, in customer id order (the lock order).

    On PostgreSQL the same statement wakes the worker: a NOTIFY on FIGURES_STALE_CHANNEL with
    the ids, which the database delivers at commit (never for a rollback) to the listener in
    the worker (valuation.wakeup). The request then sends nothing to the broker (issue 17)."""
    if not customer_ids:
        return
    ids = sorted(set(customer_ids))
    values = {field.name: field.get_default() for field in FIGURE_ROW_FIELDS}
    values.update(figures_version=1, figures_requested_at=timezone.now())
    columns = ["customer_id", "owner_id", *(field.column for field in FIGURE_ROW_FIELDS)]
    params = [field.get_db_prep_save(values[field.name], connection) for field in FIGURE_ROW_FIELDS]
    table = CustomerFigures._meta.db_table
    mark = f"""
        INSERT INTO {table} ({", ".join(columns)})
        SELECT c.id, c.owner_id, {", ".join(["%s"] * len(params))}
        FROM {Customer._meta.db_table} c WHERE c.id IN ({", ".join(["%s"] * len(ids))})
        ORDER BY c.id
        ON CONFLICT (customer_id) DO UPDATE SET
            figures_version = {table}.figures_version + 1,
            figures_requested_at = EXCLUDED.figures_requested_at,
            owner_id = EXCLUDED.owner_id
        """
    with connection.cursor() as cursor:
        if not stale_mark_wakes():
            cursor.execute(mark, [*params, *ids])
            return
        # A notification's payload holds at most 8000 bytes: WAKE_IDS ids each.
        cursor.execute(
            f"""
            WITH marked AS ({mark} RETURNING customer_id)
            SELECT pg_notify(%s, string_agg(customer_id::text, ','))
            FROM (SELECT customer_id, (row_number() OVER ()) / {WAKE_IDS} AS part FROM marked) p
            GROUP BY part
            """,
            [*params, *ids, FIGURES_STALE_CHANNEL],
        )


FIGURES_STALE_CHANNEL = "crm_figures_stale"
WAKE_IDS = 700


def stale_mark_wakes() -> bool:
    """Whether marking figures stale also wakes the worker (PostgreSQL's NOTIFY); elsewhere
    (the embedded SQLite default) the recompute is sent to the broker after the commit."""
    return connection.vendor == "postgresql"


# The columns of a figures row but its key and owner, each with its default for a new row.
FIGURE_ROW_FIELDS = [
    field
    for field in CustomerFigures._meta.concrete_fields
    if not field.primary_key and field.name != "owner"
]


def customers_figures_mark_stale(*, customer_ids, requested_at) -> int:
    """Mark these customers' figures stale, as requested at `requested_at`, without queuing
    anything (imports: their one rebuild computes them; the sweeper, if it never comes).
    Creates the figures rows of new customers. Returns how many were marked."""
    customer_ids = list(customer_ids)
    CustomerFigures.objects.bulk_create(
        [CustomerFigures(customer_id=pk) for pk in customer_ids],
        ignore_conflicts=True,
        batch_size=WRITE_BATCH,
    )
    return CustomerFigures.objects.filter(pk__in=customer_ids).update(
        figures_version=F("figures_version") + 1,
        figures_requested_at=requested_at,
        owner_id=Subquery(Customer.objects.filter(pk=OuterRef("pk")).values("owner_id")[:1]),
    )


def customers_figures_mark_stale_selected(*, cursor, source: str, requested_at) -> int:
    """customers_figures_mark_stale for the customers of `source` (a table or view with a
    customer_id column: an import's staging), in one statement: the figures rows of new
    customers created, every row's version bumped once, in customer id order (the lock
    order). Returns how many were marked."""
    values = {field.name: field.get_default() for field in FIGURE_ROW_FIELDS}
    values.update(figures_version=1, figures_requested_at=requested_at)
    columns = ["customer_id", "owner_id", *(field.column for field in FIGURE_ROW_FIELDS)]
    params = [field.get_db_prep_save(values[field.name], connection) for field in FIGURE_ROW_FIELDS]
    table = CustomerFigures._meta.db_table
    cursor.execute(
        f"""
        INSERT INTO {table} ({", ".join(columns)})
        SELECT c.id, c.owner_id, {", ".join(["%s"] * len(params))}
        FROM {Customer._meta.db_table} c
        WHERE c.id IN (SELECT customer_id FROM {source})
        ORDER BY c.id
        ON CONFLICT (customer_id) DO UPDATE SET
            figures_version = {table}.figures_version + 1,
            figures_requested_at = EXCLUDED.figures_requested_at,
            owner_id = EXCLUDED.owner_id
        """,
        params,
    )
    return cursor.rowcount


def figures_requests_due_now(*, now) -> int:
    """Requests dated in the future (an import's, waiting for its rebuild) become due now,
    for the sweeper. Returns how many."""
    return CustomerFigures.objects.filter(
        figures_requested_at__gt=now, figures_computed_version__lt=F("figures_version")
    ).update(figures_requested_at=now)


def customer_figures_recompute(*, customer_id: int, catch_up: int = 0) -> bool:
    """Recompute one customer's figures. Idempotent; a fixed number of queries.

    With `catch_up`, up to that many other customers whose figures wait for a recompute
    (oldest request first) are recomputed in the same vectorised pass, so a worker behind a
    burst of interactions catches up in bulk; their own tasks then find them current. The
    number of queries stays fixed whatever the size of the batch.

    Returns False when the customer is gone (or has no figures requested) or a newer
    recompute already wrote its figures.
    """
    return customer_id in customers_figures_recompute(customer_ids=[customer_id], catch_up=catch_up)


def customers_figures_recompute(*, customer_ids: list[int], catch_up: int = 0) -> list[int]:
    """customer_figures_recompute for the customers of a batch of interactions, in one
    vectorised pass (and a fixed number of queries): those still waiting are recomputed, with
    up to `catch_up` others. Returns the customers whose figures were written."""
    rows = CustomerFigures.objects.filter(pk__in=customer_ids).values_list(
        "pk", "figures_version", "figures_computed_version", *WATCHED_FIGURES
    )
    # Already current: a burst of tasks for one customer coalesces into one recompute.
    before = {pk: tuple(own) for pk, version, computed, *own in rows if computed < version}
    if not before:
        return []
    customer_ids = sorted(before)
    if catch_up:
        customer_ids += selectors.customers_waiting_for_figures(
            exclude=customer_ids, limit=catch_up
        )
    # Read after the version: everything committed up to that version is visible now.
    context = selectors.valuation_context()
    batch = selectors.valuation_batch(customer_ids=customer_ids, today=timezone.localdate())
    figures = compute_figures(batch.inputs, context.fit, context.params)
    columns = _stored_columns(batch, figures, assign_tiers(figures, context.fit), context.method)
    now = timezone.now()
    read_version = dict(zip(batch.customer_ids.tolist(), batch.versions.tolist(), strict=True))
    values_of = {
        pk: {name: column[index] for name, column in columns.items()}
        for index, pk in enumerate(batch.customer_ids.tolist())
    }
    owner_of = dict(zip(batch.customer_ids.tolist(), batch.owner_ids, strict=True))
    for pk, values in values_of.items():
        values["owner_id"] = owner_of[pk]
    with transaction.atomic():
        # Only the figures' rows are locked here (interaction_log locks the summary row, then
        # the figures row: no circle of waits between the two).
        # What the figures were, for the event: read with the write (the other customers of
        # the pass) or with the version (those asked for).
        written = _figures_write(values_of, read_version, now, before=before)
        if written:
            CustomerSnapshot.objects.bulk_create(
                [_snapshot(pk, values_of[pk], now) for pk in written],
                update_conflicts=True,
                unique_fields=["customer", "taken_on"],
                update_fields=SNAPSHOT_FIELDS,
            )
            # What else the new interactions move, for the manager's to-do list: the next
            # purchases their orders predict. Here in the worker, in bulk for the whole pass,
            # not in every request.
            purchase_forecasts_refresh(customer_ids=written)
            # One event for the pass: what follows the new interactions beyond the figures
            # (workspace's agendas) is refreshed here in the worker, in bulk for the pass.
            event_publish(
                EventName.FIGURES_CHANGED,
                customer_id=written[0] if len(written) == 1 else None,
                payload={
                    "customer_ids": written,
                    "changes": _figures_watched_changes(written, before, values_of),
                },
            )
    return written


def _at_risk(p_alive: float | None) -> bool:
    return p_alive is not None and p_alive < AT_RISK_P_ALIVE


def _figures_watched_changes(written: list[int], before: dict, values_of: dict) -> dict:
    """What moved that other systems watch (the webhooks' customer.figures_changed), by
    customer id: the tier, P(alive) crossing the at-risk line, the predicted CLV. Customers
    with none of these changes are left out."""
    changes: dict[str, dict] = {}
    for pk in written:
        tier, p_alive, clv = before.get(pk, (None, None, None))
        after = values_of[pk]
        moved: dict[str, dict] = {}
        if tier != after["tier"]:
            moved["tier"] = {"before": tier or None, "after": after["tier"] or None}
        if _at_risk(p_alive) != _at_risk(after["p_alive"]):
            moved["at_risk"] = {
                "before": _at_risk(p_alive),
                "after": _at_risk(after["p_alive"]),
                "p_alive_before": p_alive,
                "p_alive_after": after["p_alive"],
            }
        if clv != after["predicted_clv"]:
            moved["predicted_clv"] = {
                "before": None if clv is None else str(clv),
                "after": None if after["predicted_clv"] is None else str(after["predicted_clv"]),
            }
        if moved:
            changes[str(pk)] = moved
    return changes


def _figures_write(values_of: dict, read_version: dict, now, *, before: dict) -> list[int]:
    """Write the figures of the customers whose computed version is not newer than the one
    read with their data (a recompute that saw an older version never overwrites a newer
    one). Returns the ids written; adds the watched figures as they were before to `before`
    (several customers: read under the lock). Call inside a transaction."""
    if len(values_of) == 1:
        ((pk, values),) = values_of.items()
        written = CustomerFigures.objects.filter(
            pk=pk, figures_computed_version__lte=read_version[pk]
        ).update(**values, computed_at=now, figures_computed_version=read_version[pk])
        return [pk] if written else []
    # Several: lock the rows (in id order) so that the check holds until the commit.
    locked = (
        CustomerFigures.objects.select_for_update()
        .filter(pk__in=list(values_of))
        .order_by("pk")
        .values_list("pk", "figures_computed_version", *WATCHED_FIGURES)
    )
    computed_now = {}
    for pk, computed, *watched in locked:
        computed_now[pk] = computed
        before[pk] = tuple(watched)
    writable = [
        pk for pk in values_of if computed_now.get(pk, read_version[pk] + 1) <= read_version[pk]
    ]
    CustomerFigures.objects.bulk_update(
        [
            CustomerFigures(
                pk=pk, computed_at=now, figures_computed_version=read_version[pk], **values_of[pk]
            )
            for pk in writable
        ],
        FIGURE_WRITE_FIELDS,
    )
    return writable


def _figures_write_portable(ids, versions, columns, *, now, owners=None) -> int:
    """Any database (the embedded SQLite): one conditional UPDATE per customer (an INSERT for
    a customer without a figures row)."""
    snapshots = []
    owner_of = dict(
        Customer.objects.filter(pk__in=ids).values_list("pk", "owner_id")
        if owners is None
        else owners
    )
    for index, customer_id in enumerate(ids):
        values = {name: column[index] for name, column in columns.items()}
        written = CustomerFigures.objects.filter(
            pk=customer_id, figures_computed_version__lte=versions[index]
        ).update(
            **values,
            owner_id=owner_of.get(customer_id),
            computed_at=now,
            figures_computed_version=versions[index],
        )
        if not written:
            _, written = CustomerFigures.objects.get_or_create(
                customer_id=customer_id,
                defaults={
                    **values,
                    "owner_id": owner_of.get(customer_id),
                    "computed_at": now,
                    "figures_version": versions[index],
                    "figures_computed_version": versions[index],
                },
            )
        if written:
            snapshots.append(_snapshot(customer_id, values, now))
    CustomerSnapshot.objects.bulk_create(
        snapshots,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["customer", "taken_on"],
        update_fields=SNAPSHOT_FIELDS,
    )
    return len(snapshots)


def _figures_write_bulk(
    batch: selectors.ValuationBatch, figures: Figures, tier_of: np.ndarray, method: str
) -> int:
    """Write a batch's figures and today's snapshots in one transaction; returns how many.

    Conditional like the single recompute: the version was read before the data, and a
    customer whose figures a newer recompute already wrote is left as it is.
    """
    if connection.vendor == "postgresql":
        with transaction.atomic():
            now = timezone.now()
            return bulk.figures_write(
                ids=batch.customer_ids,
                versions=batch.versions,
                figures=figures,
                tier_of=tier_of,
                method=method,
                now=now,
                today=timezone.localdate(now),
            )
    ids, versions = batch.customer_ids.tolist(), batch.versions.tolist()
    columns = _stored_columns(batch, figures, tier_of, method)
    with transaction.atomic():
        owners = dict(zip(ids, batch.owner_ids, strict=True))
        return _figures_write_portable(ids, versions, columns, now=timezone.now(), owners=owners)


def _base_batch(
    *, customer_ids=None, id_range: tuple[int, int] | None = None, value_only: bool = False
) -> selectors.ValuationBatch:
    """The inputs of the whole base or an id range: by COPY on PostgreSQL (valuation.bulk),
    through the ORM elsewhere; the same values either way."""
    today = timezone.localdate()
    if connection.vendor == "postgresql" and customer_ids is None:
        return bulk.valuation_batch(id_range=id_range, today=today, value_only=value_only)
    return selectors.valuation_batch(
        customer_ids=customer_ids, id_range=id_range, today=today, value_only=value_only
    )


def _rfm_as_of(as_of: date, time_unit_days: float) -> rfm.RFM:
    """Every buying customer's RFM summary up to `as_of`: for a fit as of today on
    PostgreSQL, from the running summaries (one COPY of a row per customer); otherwise from
    every transaction day."""
    if connection.vendor == "postgresql" and as_of >= timezone.localdate():
        summary = bulk.summaries_rfm(as_of=as_of, time_unit_days=time_unit_days)
        if summary is not None:
            return summary
    customer_ids, days, revenue = selectors.transactions_up_to(as_of)
    return rfm.rfm_summary(
        customer_ids, days, revenue, np.datetime64(as_of, "D"), time_unit_days=time_unit_days
    )


def _transaction_days_up_to(as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """Every customer's days with an order up to `as_of`, for the holdout that chooses the
    purchase model: by COPY on PostgreSQL, otherwise in one query."""
    if connection.vendor == "postgresql":
        return bulk.transaction_days(as_of=as_of, tz=timezone.get_current_timezone_name())
    customer_ids, days, _ = selectors.transactions_up_to(as_of)
    return customer_ids, days


def _tier_thresholds_draw(fit: ModelFit, figures: Figures) -> None:
    """Draw the tier thresholds over these figures (the whole base) and set them on `fit`.
    Customers with no purchase yet are tier "new" and not ranked: they are left out."""
    settings = ValuationSettings.current()
    bought = ~figures.new
    fit.clv_threshold, fit.growth_threshold = tiers.tier_thresholds(
        figures.predicted_clv[bought],
        np.nan_to_num(figures.growth_potential[bought]),
        mvc_share=float(settings.mvc_share),
        mgc_share=float(settings.mgc_share),
    )


def customers_figures_recompute_all(*, customer_ids=None, fit: ModelFit | None = None) -> int:
    """Recompute many customers (default: all) in this process: vectorised numerics, bulk
    writes.

    With `fit`, the tier thresholds are drawn anew across these customers and stored on the fit.
    """
    context = selectors.valuation_context(fit=fit)
    batch = _base_batch(customer_ids=customer_ids)
    if not len(batch.customer_ids):
        return 0
    figures = compute_figures(batch.inputs, context.fit, context.params)
    population_fit = context.fit
    if fit is not None:
        _tier_thresholds_draw(fit, figures)
        ModelFit.objects.filter(pk=fit.pk).update(
            clv_threshold=fit.clv_threshold, growth_threshold=fit.growth_threshold
        )
        population_fit = selectors.population_fit_of(fit)
    return _figures_write_bulk(
        batch, figures, assign_tiers(figures, population_fit), context.method
    )


def customers_figures_recompute_range(*, fit_id: int, first_id: int, last_id: int) -> int:
    """One range of a refit's recompute: the customers with ids first..last (both included),
    by the fit's stored parameters and tier thresholds. Returns how many were written.

    Idempotent. A range of a fit that a newer one has replaced does nothing: the newer fit's
    own ranges cover the same customers.
    """
    fit = selectors.latest_fit()
    if fit is None or fit.pk != fit_id:
        return 0
    context = selectors.valuation_context(fit=fit)
    batch = _base_batch(id_range=(first_id, last_id))
    if not len(batch.customer_ids):
        return 0
    figures = compute_figures(batch.inputs, context.fit, context.params)
    return _figures_write_bulk(batch, figures, assign_tiers(figures, context.fit), context.method)


def refit_stragglers_mark_stale(*, allowance: timedelta) -> int:
    """Customers that the latest fit's recompute has not reached `allowance` after the fit
    (their range task was lost) are marked stale, as requested at the fit's time, so that the
    sweeper re-sends them one by one. Returns how many; normally none.
    """
    fit = selectors.latest_fit()
    # A done fit has fitted_at (valuation_fit_run sets both; no database constraint says so).
    if fit is None or fit.fitted_at > timezone.now() - allowance:  # type: ignore[operator]
        return 0
    # Customers the ranges never reached have no figures row yet: give them one to mark.
    CustomerFigures.objects.bulk_create(
        [
            CustomerFigures(customer_id=pk, owner_id=owner_id)
            for pk, owner_id in Customer.objects.filter(figures__isnull=True).values_list(
                "pk", "owner_id"
            )
        ],
        ignore_conflicts=True,
        batch_size=WRITE_BATCH,
    )
    # Customers already stale are on their way anyway.
    return CustomerFigures.objects.filter(
        Q(computed_at__lt=fit.fitted_at) | Q(computed_at__isnull=True),
        figures_computed_version__gte=F("figures_version"),
    ).update(figures_version=F("figures_version") + 1, figures_requested_at=fit.fitted_at)


def valuation_fit_create(*, as_of: date | None = None) -> ModelFit:
    """Record a refit to run (valuation.tasks.valuation_fit_request sends it); its task_id
    identifies the task."""
    return ModelFit.objects.create(as_of=as_of or timezone.localdate(), task_id=str(uuid.uuid4()))


# The default holdout: the last third of the history, at most a year; none with less than
# HOLDOUT_MIN_HISTORY of history (docs/valuation.md, "Choosing the purchase model").
HOLDOUT_MAX = timedelta(days=365)
HOLDOUT_MIN_HISTORY = timedelta(days=90)


def _holdout_window(days: np.ndarray, as_of: date) -> date | None:
    """The default calibration end for a fit as of `as_of`, or None (too little history)."""
    if days.size == 0:
        return None
    first: date = days.min().astype("datetime64[D]").item()
    history = as_of - first
    if history < HOLDOUT_MIN_HISTORY:
        return None
    return as_of - min(HOLDOUT_MAX, timedelta(days=history.days // 3))


def _purchase_models_fit(
    fit: ModelFit,
    summary: rfm.RFM,
    transactions: tuple[np.ndarray, np.ndarray],
    *,
    calibration_end: date | None,
    min_customers: int,
) -> purchase.Candidate | None:
    """Fit every purchase model on all history, score each on the holdout, choose one and
    store them all on `fit`; returns the chosen candidate (None: none converged)."""
    candidates = purchase.fit_candidates(summary.frequency, summary.recency, summary.T)
    fit.candidates = {name: candidate.as_dict() for name, candidate in candidates.items()}
    customer_ids, days = transactions
    end = calibration_end or _holdout_window(days, fit.as_of)
    holdout = None
    if end is not None and end < fit.as_of:
        calibration_customers = np.unique(customer_ids[days <= np.datetime64(end, "D")]).size
        if calibration_customers >= min_customers:
            holdout = purchase.holdout_compare(
                customer_ids, days, end, fit.as_of, time_unit_days=fit.time_unit_days
            )
    fit.holdout = holdout.as_dict() if holdout is not None else None
    chosen, how = purchase.choose(candidates, holdout)
    fit.chosen_model, fit.chosen_by = chosen or "", how
    bg = candidates["bgnbd"]
    if bg.converged:
        params = bg.model.parameters()
        fit.bgnbd_r, fit.bgnbd_alpha = params["r"], params["alpha"]
        fit.bgnbd_a, fit.bgnbd_b = params["a"], params["b"]
        fit.bgnbd_log_likelihood = bg.log_likelihood
    return candidates[chosen] if chosen else None


def valuation_fit_run(
    *,
    fit_id: int,
    spread: Callable[[ModelFit], object] | None = None,
    calibration_end: date | None = None,
) -> ModelFit:
    """Fit the purchase models (BG/NBD, MBG/NBD, Pareto/NBD) and Gamma-Gamma on every
    customer's transactions up to the fit's as_of, choose the purchase model by its forecast of
    a holdout period (the transactions after `calibration_end`; by default the last third of
    the history, see _holdout_window), store every candidate, the chosen model's parameters
    and the tier thresholds drawn over the whole base, then recompute every customer: here and
    now, or by `spread(fit)`, called in the transaction that marks the fit done, which queues
    ranges that a Celery group spreads over the workers
    (valuation.tasks.customers_figures_recompute_spread). Either way every customer ends with
    the same figures.

    Idempotent: a fit that is no longer running is left as it is.
    """
    on_workers = spread is not None
    claimed = ModelFit.objects.filter(pk=fit_id, status=FitStatus.RUNNING)
    fit = claimed.first()
    if fit is None:
        return ModelFit.objects.get(pk=fit_id)
    started = time.perf_counter()
    settings = ValuationSettings.current()
    summary = _rfm_as_of(fit.as_of, fit.time_unit_days)
    fit.customers = len(summary.customer_ids)
    chosen = gg = None
    if fit.customers >= settings.min_customers_to_fit:
        chosen = _purchase_models_fit(
            fit,
            summary,
            _transaction_days_up_to(fit.as_of),
            calibration_end=calibration_end,
            min_customers=settings.min_customers_to_fit,
        )
        if chosen is not None and (summary.frequency > 0).any():
            gg = gamma_gamma.fit(summary.frequency, summary.monetary_value)
    # A fit that does not pin its parameters down (no repeat purchases, too few customers)
    # is not used: the documented simple estimate is, and says so.
    if chosen is not None and gg is not None and gg.converged:
        fit.method = FitMethod.MODEL
        fit.gg_p, fit.gg_q, fit.gg_gamma = gg.params.p, gg.params.q, gg.params.gamma
        fit.gg_log_likelihood, fit.gg_customers = gg.log_likelihood, gg.customers
    else:
        fit.method = FitMethod.FALLBACK
    fit.fitted_at = timezone.now()
    fit.duration_ms = int((time.perf_counter() - started) * 1000)
    # The thresholds are quantiles over the whole base: drawn here, once, from every customer's
    # value; the ranges apply them. Only the inputs of predicted CLV and growth are needed.
    # So are the priors (prospect value, peer wallets), drawn over the same inputs, before the
    # context that reads them from the fit.
    batch = _base_batch(value_only=on_workers)
    priors = fit_priors_build(fit=fit, batch=batch, summary=summary, settings=settings)
    context = selectors.valuation_context(fit=fit)
    anyone = len(batch.customer_ids) > 0
    if anyone:
        figures = compute_figures(batch.inputs, context.fit, context.params)
        _tier_thresholds_draw(fit, figures)
    fit.status = FitStatus.DONE
    # On PostgreSQL, outside a transaction, everyone is written after the fit is recorded,
    # on several connections at once (valuation.bulk.figures_write_parallel): like the
    # ranges on workers, a write lost half-way is found by the sweeper.
    in_parallel = (
        spread is None
        and anyone
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and django_settings.NIGHTLY_WRITE_CONNECTIONS > 1
    )
    with transaction.atomic():
        fit.save()
        priors.save(force_insert=True)
        if spread is not None:
            spread(fit)
        elif anyone and not in_parallel:
            population_fit = selectors.population_fit_of(fit)
            _figures_write_bulk(
                batch, figures, assign_tiers(figures, population_fit), context.method
            )
    if in_parallel:
        now = timezone.now()
        bulk.figures_write_parallel(
            ids=batch.customer_ids,
            versions=batch.versions,
            figures=figures,
            tier_of=assign_tiers(figures, selectors.population_fit_of(fit)),
            method=context.method,
            now=now,
            today=timezone.localdate(now),
            connections=django_settings.NIGHTLY_WRITE_CONNECTIONS,
        )
    logger.info(
        "fit %s done: %s customers, method %s, model %s (by %s), %d ms",
        fit.pk,
        fit.customers,
        fit.method,
        fit.chosen_model or "-",
        fit.chosen_by or "-",
        fit.duration_ms,
    )
    return fit


def _newcomer_repeats(fit: ModelFit, summary: rfm.RFM, months: np.ndarray) -> np.ndarray:
    """Expected repeat transactions of a customer acquired now in the first m months (the
    model's unconditional expectation; the fallback: the pooled rate of the simple estimate)."""
    t = months * DAYS_PER_MONTH / fit.time_unit_days
    model = selectors.purchase_model_of(fit) if fit.method == FitMethod.MODEL else None
    if model is not None:
        return model.expected_transactions_new_customer(t)
    age = float(np.sum(summary.T))
    return t * (float(np.sum(summary.frequency)) / age if age > 0 else 0.0)


def fit_priors_build(
    *, fit: ModelFit, batch: selectors.ValuationBatch, summary: rfm.RFM, settings: ValuationSettings
) -> FitPriors:
    """The fit's priors (docs/valuation.md, "Prospects" and "Inferred wallets"), unsaved, set
    on `fit` (fit.priors): the value of a customer with no purchase yet, from the firm's own
    conversion rate (one query), and the peer wallets by segment over the batch (the base)."""
    inputs = batch.inputs
    revenue, margin = float(inputs.revenue_total.sum()), float(inputs.margin_total.sum())
    days = float(inputs.transaction_days.sum())
    margin_ratio = margin / revenue if revenue > 0 else 0.0
    mean_spend = revenue / days if days > 0 else 0.0
    if fit.method == FitMethod.MODEL:
        modelled = gamma_gamma.population_mean(
            gamma_gamma.GammaGammaParams(
                p=fit.gg_p,  # type: ignore[arg-type]  # set with method MODEL
                q=fit.gg_q,  # type: ignore[arg-type]  # set with method MODEL
                gamma=fit.gg_gamma,  # type: ignore[arg-type]  # set with method MODEL
            )
        )
        mean_spend = modelled if math.isfinite(modelled) else mean_spend
    months = np.arange(0, settings.horizon_months + 1, dtype=np.float64)
    repeats = _newcomer_repeats(fit, summary, months)
    value = prospects.new_customer_value(
        repeats,
        mean_spend * margin_ratio,
        annual_discount_rate=float(settings.annual_discount_rate),
    )
    window = prospects.CONVERSION_WINDOW_DAYS
    counts = selectors.prospect_conversion_counts(as_of=fit.as_of, window_days=window)
    conversion = prospects.conversion_rate(counts["seen"], counts["converted"])
    late = prospects.late_conversion_rate(counts["late_seen"], counts["late_converted"], conversion)
    segment = wallets.segment_of(
        inputs.is_organization, inputs.people_served, inputs.needs_known, inputs.tenure_days
    )
    spend = wallets.annual_spend_known(
        inputs.wallet_annual, inputs.revenue_12m, inputs.days_since_first
    )
    peer = wallets.peer_wallets(segment, spend)
    return FitPriors(
        fit=fit,
        conversion_window_days=window,
        prospects_seen=conversion.seen,
        prospects_converted=conversion.converted,
        conversion_rate=conversion.rate,
        conversion_observed=conversion.observed,
        mean_spend=mean_spend,
        margin_ratio=margin_ratio,
        expected_transactions=1.0 + float(repeats[-1]),
        new_customer_value=value,
        prospect_value=prospects.prospect_value(conversion, value),
        late_prospects_seen=late.seen,
        late_prospects_converted=late.converted,
        late_conversion_rate=late.rate,
        late_conversion_observed=late.observed,
        late_prospect_value=prospects.prospect_value(late, value),
        wallet_quantile=peer.quantile,
        wallet_min_peers=peer.min_peers,
        wallet_samples=int(np.isfinite(spend).sum()),
        peer_wallets={
            # JSON has no NaN: a segment without a wallet is null.
            "wallet": [None if not math.isfinite(w) else round(w, 2) for w in peer.wallet.tolist()],
            "peers": peer.peers.tolist(),
            "level": peer.level.tolist(),
        },
    )


def valuation_fit_fail(*, fit_id: int, error: str) -> None:
    ModelFit.objects.filter(pk=fit_id, status=FitStatus.RUNNING).update(
        status=FitStatus.FAILED, error=error[:2000]
    )


def valuation_rebuild_everything(*, as_of: date | None = None) -> ModelFit:
    """After bulk changes (demo data, imports): rebuild every summary, refit, recompute all,
    and store again what the per-interaction recompute keeps for the manager's pages (next due
    actions, purchase forecasts)."""
    customer_summaries_rebuild(channel_costs=selectors.channel_costs_decimal())
    fit = ModelFit.objects.create(as_of=as_of or timezone.localdate())
    fit = valuation_fit_run(fit_id=fit.pk)
    # The figures as of every past month end, so that the charts have a past from day one.
    days = customers_figures_history_build(until=as_of)
    with transaction.atomic():
        # Every customer's figures: the workspace refreshes every agenda, and records the
        # portfolios' equity on the history's days.
        event_publish(
            EventName.FIGURES_CHANGED,
            payload={"version": None, "history_days": [day.isoformat() for day in days]},
        )
    purchase_forecasts_refresh()
    return fit


def _population_fit_as_of(transactions: history.Transactions, day: date) -> PopulationFit:
    """The models fitted on the transactions up to `day`, by valuation_fit_run's rules (the
    simple estimate below the minimum of customers or when a fit does not converge)."""
    settings = ValuationSettings.current()
    summary = rfm.rfm_summary(
        transactions.customer_ids, transactions.days, transactions.revenue, np.datetime64(day, "D")
    )
    if len(summary.customer_ids) >= settings.min_customers_to_fit:
        bg = bgnbd.fit(summary.frequency, summary.recency, summary.T)
        if bg.converged and (summary.frequency > 0).any():
            gg = gamma_gamma.fit(summary.frequency, summary.monetary_value)
            if gg.converged:
                # BG/NBD for the past days: choosing among the models needs a holdout of
                # each day's own history, and Pareto/NBD alone would cost seconds a day.
                return PopulationFit(
                    time_unit_days=7.0,
                    purchase_model=purchase.PurchaseModel("bgnbd", bg.params),
                    gamma_gamma=gg.params,
                )
    return PopulationFit(time_unit_days=7.0, purchase_model=None, gamma_gamma=None)


def customers_figures_history_build(*, until: date | None = None) -> list[date]:
    """Every customer's snapshot as of each month end of the stored history (the latest
    history.HISTORY_MONTHS), from only the data up to that day, so that the trend charts, the
    at-risk list and the scorecards have a past from the first day; the month ends before
    `until` (default today: an import of a historic data set passes its as-of date). Returns
    the days.

    For each day the models are refitted on the transactions up to then and the tier
    thresholds drawn over the customers who existed then: the figures a nightly refit would
    have written that day. Idempotent: the backfilled snapshots are replaced (all of them, so
    a history that now starts later leaves none behind); a snapshot taken on its day is kept.
    """
    read = history.history_read()
    first = read.first_day
    today = until or timezone.localdate()
    days = [] if first is None else history.month_ends(first=_date_of(first), today=today)
    settings = ValuationSettings.current()
    params = selectors.valuation_params(settings)
    now = timezone.now()
    written = 0
    # One transaction: a rebuild that fails half-way leaves the history as it was.
    with transaction.atomic():
        CustomerSnapshot.objects.filter(backfilled=True).delete()
        for day in days:
            written += _history_day_write(read, day, settings=settings, params=params, now=now)
    logger.info("history: %d snapshots over %d month ends", written, len(days))
    return days


def _history_day_write(read: history.History, day: date, *, settings, params, now) -> int:
    """The figures of everyone as of `day`, refitted on the transactions up to then, written
    as that day's backfilled snapshots. Returns how many."""
    as_of = history.inputs_as_of(read, day)
    if not len(as_of.present):
        return 0
    fit = _population_fit_as_of(as_of.transactions, day)
    with np.errstate(invalid="ignore", over="ignore"):  # checked just below
        figures = compute_figures(as_of.inputs, fit, params)
    if fit.uses_model and not np.isfinite(figures.gross_clv).all():
        # An early, thin history can fit a degenerate BG/NBD (a and b run off to ~1e12:
        # nobody drops out) whose expectations are not finite: that day takes the
        # simple estimate, as a fit that does not converge does.
        fit = PopulationFit(time_unit_days=7.0, purchase_model=None, gamma_gamma=None)
        figures = compute_figures(as_of.inputs, fit, params)
    clv_threshold, growth_threshold = tiers.tier_thresholds(
        figures.predicted_clv,
        np.nan_to_num(figures.growth_potential),
        mvc_share=float(settings.mvc_share),
        mgc_share=float(settings.mgc_share),
    )
    fit = dataclasses.replace(fit, clv_threshold=clv_threshold, growth_threshold=growth_threshold)
    ids = read.customer_ids[as_of.present]
    return _history_snapshots_write(ids, figures, assign_tiers(figures, fit), day=day, now=now)


def _history_snapshots_write(ids: np.ndarray, figures: Figures, tier_of, *, day, now) -> int:
    """One day's backfilled snapshots: by COPY on PostgreSQL, in batches elsewhere; a
    snapshot already there of that day (taken on the day) is left as it is."""
    if connection.vendor == "postgresql":
        return bulk.snapshots_insert(
            ids=ids, figures=figures, tier_of=tier_of, day=day, now=now, backfilled=True
        )
    columns = {
        figure.name: [
            STORED_AS[figure.type](value)
            for value in (
                tier_of if figure.source == FROM_TIERS else getattr(figures, figure.name)
            ).tolist()
        ]
        for figure in FIGURES
        if figure.snapshot
    }
    snapshots = [
        CustomerSnapshot(
            customer_id=customer_id,
            taken_on=day,
            computed_at=now,
            backfilled=True,
            **{name: column[index] for name, column in columns.items()},
        )
        for index, customer_id in enumerate(ids.tolist())
    ]
    CustomerSnapshot.objects.bulk_create(snapshots, batch_size=WRITE_BATCH, ignore_conflicts=True)
    return len(snapshots)


def _date_of(day_number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day_number)


def valuation_history_rebuild() -> list[date]:
    """`recompute_customers --history`: rebuild the past snapshots, then let the workspace
    record the portfolios' equity on those days (FIGURES_CHANGED with history_days)."""
    days = customers_figures_history_build()
    with transaction.atomic():
        event_publish(
            EventName.FIGURES_CHANGED,
            payload={"version": None, "history_days": [day.isoformat() for day in days]},
        )
    return days


VALUATION_MERGE_WHY = {
    "valuation.CustomerSummary.customer": "derived: the survivor's is rebuilt from the moved "
    "interactions",
    "valuation.CustomerFigures.customer": "derived: the survivor's are recomputed",
    "valuation.CustomerSnapshot.customer": "derived history of the duplicate's own figures: "
    "the survivor's snapshots stay",
}


def valuation_customer_merge(*, survivor_id: int, duplicate_id: int) -> dict[str, dict]:
    """The duplicate's derived rows go, in the merge's transaction (valuation.handlers, after
    interactions moved the history): the survivor's summary is rebuilt from it at once (the
    running fold cannot add a second history), its figures are marked stale by the caller."""
    dropped = {
        label: model.objects.filter(customer_id=duplicate_id).delete()[0]
        for label, model in (
            ("valuation.CustomerSummary.customer", CustomerSummary),
            ("valuation.CustomerFigures.customer", CustomerFigures),
            ("valuation.CustomerSnapshot.customer", CustomerSnapshot),
        )
    }
    customer_summaries_rebuild(
        customer_ids=[survivor_id], channel_costs=selectors.channel_costs_decimal()
    )
    return {
        label: {"dropped": n, "why": VALUATION_MERGE_WHY[label]} for label, n in dropped.items()
    }
