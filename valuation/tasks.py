"""Valuation tasks: thin, by id, idempotent (docs/architecture.md), and the requests that send
them (a task module imports its services, never the reverse)."""

import logging
from datetime import date, timedelta

from celery import Task, shared_task
from django.conf import settings
from django.db import connection

from core.dispatch import PUBLISH_RETRY_POLICY, enqueue_group_on_commit, enqueue_on_commit
from core.logs import log_context
from core.tasks import TRANSIENT_ERRORS, retry_transient

from . import selectors, services
from .models import ModelFit

logger = logging.getLogger(__name__)

# How many other waiting customers one recompute takes along (one vectorised pass).
CATCH_UP = 50


class RecomputeTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Retries exhausted (or a bug): say so loudly. The customer stays stale, so the
        # sweeper sends the recompute again every minute and the admin's "figures stale"
        # filter and /healthz show it until it lands.
        customer_id = kwargs.get("customer_id", args[0] if args else None)
        logger.error(
            "recompute of customer %s failed for good after %d retries: %s",
            customer_id,
            self.request.retries,
            exc,
            extra={"customer_id": customer_id},
        )


@shared_task(base=RecomputeTask, **retry_transient())
def customer_figures_recompute_task(customer_id: int) -> bool:
    """Returns whether it wrote (False: a newer recompute had already written).

    A worker behind a burst recomputes up to CATCH_UP other waiting customers in the same
    pass; their own tasks, still queued, then find them current (SPEC §8 freshness).
    """
    with log_context(customer_id=customer_id):
        return services.customer_figures_recompute(customer_id=customer_id, catch_up=CATCH_UP)


@shared_task(base=RecomputeTask, **retry_transient())
def customers_figures_recompute_task(customer_ids: list[int]) -> int:
    """The customers of a batch, in one vectorised pass; returns how many were written."""
    return len(services.customers_figures_recompute(customer_ids=customer_ids, catch_up=CATCH_UP))


# Customers per recompute task of a batch: one pass of this many is a few times one
# customer's, where a task each cost the web process half a millisecond to send (Celery).
RECOMPUTE_CHUNK = 100


# A recompute normally lands within a second; one still missing after this long was lost
# (broker down at save time, worker killed) and is sent again.
STALE_AFTER = timedelta(seconds=30)
# A refit's range tasks recompute the whole base within minutes; customers they have not
# reached after this long were in a range that was lost.
REFIT_ALLOWANCE = timedelta(minutes=10)


@shared_task
def customers_figures_recompute_stale() -> int:
    services.refit_stragglers_mark_stale(allowance=REFIT_ALLOWANCE)
    customer_ids = list(
        selectors.customers_with_stale_figures(older_than=STALE_AFTER).values_list("pk", flat=True)[
            :10_000
        ]
    )
    for customer_id in customer_ids:
        customer_figures_recompute_task.apply_async(
            args=(customer_id,), retry_policy=PUBLISH_RETRY_POLICY
        )
    if customer_ids:
        logger.warning("re-sent %d lost recomputes", len(customer_ids))
    return len(customer_ids)


@shared_task(
    **retry_transient(max_retries=5, backoff_max=120),
    soft_time_limit=1800,
    time_limit=1900,
)
def valuation_fit_run_task(fit_id: int) -> None:
    # On PostgreSQL the worker that fits recomputes everyone in one pass (COPY in and out,
    # written on several connections: valuation.bulk), faster than ranges spread over workers
    # on one machine (docs/benchmarks.md); elsewhere, or with NIGHTLY_IN_RANGES, in ranges.
    in_ranges = settings.NIGHTLY_IN_RANGES or connection.vendor != "postgresql"
    try:
        services.valuation_fit_run(
            fit_id=fit_id, spread=customers_figures_recompute_spread if in_ranges else None
        )
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        # Anything else is a bug or bad data: record it on the fit for the admin, then fail.
        services.valuation_fit_fail(fit_id=fit_id, error=f"{type(error).__name__}: {error}")
        raise


@shared_task
def valuation_nightly_refit() -> int:
    return valuation_fit_request().pk


@shared_task(
    **retry_transient(),
    soft_time_limit=600,
    time_limit=660,
)
def customers_figures_recompute_range_task(fit_id: int, first_id: int, last_id: int) -> int:
    """One range of a refit's recompute (valuation_fit_run sends them as a group)."""
    return services.customers_figures_recompute_range(
        fit_id=fit_id, first_id=first_id, last_id=last_id
    )


def valuation_fit_request(*, as_of: date | None = None) -> ModelFit:
    """Record a refit and queue it after the commit (the admin, the API, the nightly beat)."""
    fit = services.valuation_fit_create(as_of=as_of)
    enqueue_on_commit(valuation_fit_run_task, fit.pk, task_id=fit.task_id)
    return fit


def customers_figures_recompute_spread(fit: ModelFit) -> list[tuple[int, int]]:
    """Queue the recompute of every customer by `fit` as a Celery group of range tasks, one
    per range of settings.RECOMPUTE_RANGE_SIZE customer ids (5,000: a message of three ids, about
    a second of work, twenty ranges at 100,000 customers), sent after the commit; returns
    the ranges.

    Nothing is written per customer here: a range lost on the way (broker down, retries
    exhausted) is found again by the sweeper (refit_stragglers_mark_stale).
    """
    ranges = selectors.customer_id_ranges(size=settings.RECOMPUTE_RANGE_SIZE)
    enqueue_group_on_commit(
        customers_figures_recompute_range_task, [(fit.pk, first, last) for first, last in ranges]
    )
    return ranges


def customer_figures_request(*, customer_id: int) -> None:
    """Mark the customer's figures stale; their recompute follows the commit. On PostgreSQL
    the mark wakes the worker itself (valuation.wakeup), else the recompute is sent."""
    services.customer_figures_request(customer_id=customer_id)
    if not services.stale_mark_wakes():
        enqueue_on_commit(customer_figures_recompute_task, customer_id)


def customers_figures_request(*, customer_ids: list[int]) -> None:
    """Many customers' figures marked stale in one statement (their owner copied; a batch of
    interactions, a portfolio reassigned), their recompute sent after the commit as a group
    of tasks of RECOMPUTE_CHUNK customers each (any free worker takes the next)."""
    services.customers_figures_request(customer_ids=customer_ids)
    if services.stale_mark_wakes():
        return
    ids = sorted(set(customer_ids))
    enqueue_group_on_commit(
        customers_figures_recompute_task,
        [(ids[start : start + RECOMPUTE_CHUNK],) for start in range(0, len(ids), RECOMPUTE_CHUNK)],
    )
