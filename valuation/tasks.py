"""Valuation tasks: thin, by id, idempotent (docs/architecture.md)."""

import logging
from datetime import timedelta

from celery import Task, shared_task

from core.dispatch import PUBLISH_RETRY_POLICY
from core.logs import log_context
from core.tasks import TRANSIENT_ERRORS, retry_transient

from . import selectors, services

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
def customer_recompute_figures(customer_id: int) -> bool:
    """Returns whether it wrote (False: a newer recompute had already written).

    A worker behind a burst recomputes up to CATCH_UP other waiting customers in the same
    pass; their own tasks, still queued, then find them current (SPEC §8 freshness).
    """
    with log_context(customer_id=customer_id):
        return services.customer_figures_recompute(customer_id=customer_id, catch_up=CATCH_UP)


# A recompute normally lands within a second; one still missing after this long was lost
# (broker down at save time, worker killed) and is sent again.
STALE_AFTER = timedelta(seconds=30)
# A refit's chunk tasks recompute the whole base within minutes; customers they have not
# reached after this long were in a chunk that was lost.
REFIT_ALLOWANCE = timedelta(minutes=10)


@shared_task
def customers_recompute_stale() -> int:
    services.refit_stragglers_mark_stale(allowance=REFIT_ALLOWANCE)
    customer_ids = list(
        selectors.customers_with_stale_figures(older_than=STALE_AFTER).values_list("pk", flat=True)[
            :10_000
        ]
    )
    for customer_id in customer_ids:
        customer_recompute_figures.apply_async(
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
    try:
        services.valuation_fit_run(fit_id=fit_id, on_workers=True)
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        # Anything else is a bug or bad data: record it on the fit for the admin, then fail.
        services.valuation_fit_fail(fit_id=fit_id, error=f"{type(error).__name__}: {error}")
        raise


@shared_task
def valuation_nightly_refit() -> int:
    return services.valuation_fit_request().pk


@shared_task(
    **retry_transient(),
    soft_time_limit=600,
    time_limit=660,
)
def customers_recompute_chunk(fit_id: int, first_id: int, last_id: int) -> int:
    """One chunk of a refit's recompute (valuation_fit_run sends them as a group)."""
    return services.customers_figures_recompute_range(
        fit_id=fit_id, first_id=first_id, last_id=last_id
    )
