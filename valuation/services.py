"""The valuation engine's writes: recompute a customer's figures, recompute everyone, refit.

The per-interaction recompute applies the stored population fit in closed form to the
customer's running summary: a fixed number of queries whatever the length of the history.
The refit runs maximum likelihood over the whole base, then recomputes every customer in bulk
and re-draws the tier thresholds.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.utils import timezone

from crm.dispatch import enqueue_on_commit
from customers.models import Customer
from customers.services import customers_next_due_refresh
from offerings.forecasts import purchase_forecasts_refresh

from . import selectors
from .figures import Figures, assign_tiers, compute_figures
from .models import CustomerSnapshot, FitMethod, FitStatus, ModelFit, ValuationSettings
from .numerics import bgnbd, gamma_gamma, rfm, tiers
from .summary import customer_summaries_rebuild

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")


def _money(value: float) -> Decimal | None:
    return None if not np.isfinite(value) else Decimal(repr(float(value))).quantize(CENT)


def _unit(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


@dataclass(frozen=True)
class CustomerFigureValues:
    """The figures of one customer as they are written to the database."""

    interaction_count: int
    last_contact_at: object
    tier: str
    historic_value: Decimal | None
    predicted_clv: Decimal | None
    growth_potential: Decimal | None
    revenue_12m: Decimal | None
    p_alive: float | None
    share_of_customer: float | None
    share_of_needs: float | None
    experience_score: float | None
    valuation_method: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _values_at(
    batch: selectors.ValuationBatch, figures: Figures, tier_of, index: int, method: str
) -> CustomerFigureValues:
    return CustomerFigureValues(
        interaction_count=int(batch.interaction_count[index]),
        last_contact_at=batch.last_contact_at[index],
        tier=str(tier_of[index]),
        historic_value=_money(figures.historic_value[index]),
        predicted_clv=_money(figures.predicted_clv[index]),
        growth_potential=_money(figures.growth_potential[index]),
        revenue_12m=_money(batch.inputs.revenue_12m[index]),
        p_alive=_unit(figures.p_alive[index]),
        share_of_customer=_unit(figures.share_of_customer[index]),
        share_of_needs=_unit(figures.share_of_needs[index]),
        experience_score=_unit(figures.experience_score[index]),
        valuation_method=method,
    )


def _snapshot(customer_id: int, values: CustomerFigureValues, now) -> CustomerSnapshot:
    return CustomerSnapshot(
        customer_id=customer_id,
        taken_on=timezone.localdate(now),
        computed_at=now,
        tier=values.tier,
        historic_value=values.historic_value,
        predicted_clv=values.predicted_clv,
        growth_potential=values.growth_potential,
        p_alive=values.p_alive,
        share_of_customer=values.share_of_customer,
        share_of_needs=values.share_of_needs,
        experience_score=values.experience_score,
    )


SNAPSHOT_FIELDS = [
    "computed_at",
    "tier",
    "historic_value",
    "predicted_clv",
    "growth_potential",
    "p_alive",
    "share_of_customer",
    "share_of_needs",
    "experience_score",
]


FIGURE_WRITE_FIELDS = [
    *CustomerFigureValues.__dataclass_fields__,
    "metrics_computed_at",
    "figures_computed_version",
]


def customer_figures_recompute(*, customer_id: int, catch_up: int = 0) -> bool:
    """Recompute one customer's figures. Idempotent; a fixed number of queries.

    With `catch_up`, up to that many other customers whose figures wait for a recompute
    (oldest request first) are recomputed in the same vectorised pass, so a worker behind a
    burst of interactions catches up in bulk; their own tasks then find them current. The
    number of queries stays fixed whatever the size of the batch.

    Returns False when the customer is gone or a newer recompute already wrote its figures.
    """
    versions = (
        Customer.objects.filter(pk=customer_id)
        .values_list("figures_version", "figures_computed_version")
        .first()
    )
    if versions is None:
        return False
    version, computed_version = versions
    if computed_version >= version:
        # Already current: a burst of tasks for one customer coalesces into one recompute.
        return False
    customer_ids = [customer_id]
    if catch_up:
        customer_ids += selectors.customers_waiting_for_figures(exclude=customer_id, limit=catch_up)
    # Read after the version: everything committed up to that version is visible now.
    context = selectors.valuation_context()
    batch = selectors.valuation_batch(customer_ids=customer_ids, today=timezone.localdate())
    figures = compute_figures(batch.inputs, context.fit, context.params)
    tier_of = assign_tiers(figures, context.fit)
    now = timezone.now()
    read_version = dict(zip(batch.customer_ids.tolist(), batch.versions.tolist(), strict=True))
    values_of = {
        pk: _values_at(batch, figures, tier_of, index, context.method)
        for index, pk in enumerate(batch.customer_ids.tolist())
    }
    with transaction.atomic():
        written = _figures_write(values_of, read_version, now)
        if written:
            CustomerSnapshot.objects.bulk_create(
                [_snapshot(pk, values_of[pk], now) for pk in written],
                update_conflicts=True,
                unique_fields=["customer", "taken_on"],
                update_fields=SNAPSHOT_FIELDS,
            )
            # What else the new interactions move, for the manager's pages: the next purchases
            # their orders predict (to-do list) and the next due action (portfolio sort). Here
            # in the worker, in bulk for the whole pass, not in every request.
            purchase_forecasts_refresh(customer_ids=written)
            customers_next_due_refresh(customer_ids=written)
    return customer_id in written


def _figures_write(values_of: dict, read_version: dict, now) -> list[int]:
    """Write the figures of the customers whose computed version is not newer than the one
    read with their data (a recompute that saw an older version never overwrites a newer
    one). Returns the ids written. Call inside a transaction."""
    if len(values_of) == 1:
        ((pk, values),) = values_of.items()
        written = Customer.objects.filter(
            pk=pk, figures_computed_version__lte=read_version[pk]
        ).update(
            **values.as_dict(), metrics_computed_at=now, figures_computed_version=read_version[pk]
        )
        return [pk] if written else []
    # Several: lock the rows (in id order) so that the check holds until the commit.
    computed_now = dict(
        Customer.objects.select_for_update()
        .filter(pk__in=list(values_of))
        .order_by("pk")
        .values_list("pk", "figures_computed_version")
    )
    writable = [
        pk for pk in values_of if computed_now.get(pk, read_version[pk] + 1) <= read_version[pk]
    ]
    Customer.objects.bulk_update(
        [
            Customer(
                pk=pk,
                metrics_computed_at=now,
                figures_computed_version=read_version[pk],
                **values_of[pk].as_dict(),
            )
            for pk in writable
        ],
        FIGURE_WRITE_FIELDS,
    )
    return writable


def customers_figures_recompute_all(*, customer_ids=None, fit: ModelFit | None = None) -> int:
    """Recompute many customers (default: all) with vectorised numerics and bulk writes.

    With `fit`, the tier thresholds are drawn anew across the whole base and stored on the fit.
    """
    context = selectors.valuation_context(fit=fit)
    batch = selectors.valuation_batch(customer_ids=customer_ids, today=timezone.localdate())
    if not len(batch.customer_ids):
        return 0
    figures = compute_figures(batch.inputs, context.fit, context.params)
    population_fit = context.fit
    if fit is not None:
        settings = ValuationSettings.current()
        clv_threshold, growth_threshold = tiers.tier_thresholds(
            figures.predicted_clv,
            np.nan_to_num(figures.growth_potential),
            mvc_share=float(settings.mvc_share),
            mgc_share=float(settings.mgc_share),
        )
        ModelFit.objects.filter(pk=fit.pk).update(
            clv_threshold=clv_threshold, growth_threshold=growth_threshold
        )
        fit.clv_threshold, fit.growth_threshold = clv_threshold, growth_threshold
        population_fit = selectors.population_fit_of(fit)
    tier_of = assign_tiers(figures, population_fit)
    now = timezone.now()
    customers, snapshots = [], []
    for index, customer_id in enumerate(batch.customer_ids.tolist()):
        values = _values_at(batch, figures, tier_of, index, context.method)
        # The version was read before the data: everything up to it is reflected. Should a
        # newer single recompute be overwritten here, the customer shows as stale again and
        # the sweeper recomputes it.
        customers.append(
            Customer(
                pk=customer_id,
                metrics_computed_at=now,
                figures_computed_version=int(batch.versions[index]),
                **values.as_dict(),
            )
        )
        snapshots.append(_snapshot(customer_id, values, now))
    with transaction.atomic():
        Customer.objects.bulk_update(customers, FIGURE_WRITE_FIELDS, batch_size=1000)
        CustomerSnapshot.objects.bulk_create(
            snapshots,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["customer", "taken_on"],
            update_fields=SNAPSHOT_FIELDS,
        )
    return len(customers)


def valuation_fit_request(*, as_of: date | None = None) -> ModelFit:
    """Record a refit and queue it after the commit; the fit's task_id identifies the task."""
    from .tasks import valuation_fit_run_task

    fit = ModelFit.objects.create(
        as_of=as_of or timezone.localdate(),
        task_id=str(uuid.uuid4()),
    )
    enqueue_on_commit(valuation_fit_run_task, fit.pk, task_id=fit.task_id)
    return fit


def valuation_fit_run(*, fit_id: int) -> ModelFit:
    """Fit BG/NBD and Gamma-Gamma on every customer's transactions up to the fit's as_of,
    store the parameters, then recompute every customer and draw the tier thresholds anew.

    Idempotent: a fit that is no longer running is left as it is.
    """
    claimed = ModelFit.objects.filter(pk=fit_id, status=FitStatus.RUNNING)
    fit = claimed.first()
    if fit is None:
        return ModelFit.objects.get(pk=fit_id)
    started = time.perf_counter()
    settings = ValuationSettings.current()
    customer_ids, days, revenue = selectors.transactions_up_to(fit.as_of)
    summary = rfm.rfm_summary(
        customer_ids,
        days,
        revenue,
        np.datetime64(fit.as_of, "D"),
        time_unit_days=fit.time_unit_days,
    )
    fit.customers = len(summary.customer_ids)
    bg = gg = None
    if fit.customers >= settings.min_customers_to_fit:
        bg = bgnbd.fit(summary.frequency, summary.recency, summary.T)
        if bg.converged and (summary.frequency > 0).any():
            gg = gamma_gamma.fit(summary.frequency, summary.monetary_value)
    # A fit that does not pin its parameters down (no repeat purchases, too few customers)
    # is not used: the documented simple estimate is, and says so.
    if bg is not None and gg is not None and bg.converged and gg.converged:
        fit.method = FitMethod.MODEL
        fit.bgnbd_r, fit.bgnbd_alpha, fit.bgnbd_a, fit.bgnbd_b = (
            bg.params.r,
            bg.params.alpha,
            bg.params.a,
            bg.params.b,
        )
        fit.bgnbd_log_likelihood = bg.log_likelihood
        fit.gg_p, fit.gg_q, fit.gg_gamma = gg.params.p, gg.params.q, gg.params.gamma
        fit.gg_log_likelihood, fit.gg_customers = gg.log_likelihood, gg.customers
    else:
        fit.method = FitMethod.FALLBACK
    fit.status = FitStatus.DONE
    fit.fitted_at = timezone.now()
    fit.duration_ms = int((time.perf_counter() - started) * 1000)
    fit.save()
    customers_figures_recompute_all(fit=fit)
    logger.info(
        "fit %s done: %s customers, method %s, %d ms",
        fit.pk,
        fit.customers,
        fit.method,
        fit.duration_ms,
    )
    return fit


def valuation_fit_fail(*, fit_id: int, error: str) -> None:
    ModelFit.objects.filter(pk=fit_id, status=FitStatus.RUNNING).update(
        status=FitStatus.FAILED, error=error[:2000]
    )


def valuation_rebuild_everything(*, as_of: date | None = None) -> ModelFit:
    """After bulk changes (demo data, imports): rebuild every summary, refit, recompute all."""
    customer_summaries_rebuild(channel_costs=selectors.channel_costs_decimal())
    fit = ModelFit.objects.create(as_of=as_of or timezone.localdate())
    return valuation_fit_run(fit_id=fit.pk)
