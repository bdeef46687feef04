"""Valuation tasks: thin, by id, idempotent."""

from celery import shared_task

from core.tasks import TRANSIENT_ERRORS, retry_transient

from . import services


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
