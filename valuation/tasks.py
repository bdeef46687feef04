"""Valuation tasks: thin, by id, idempotent."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services

TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=5,
    soft_time_limit=1800,
    time_limit=1900,
)
def valuation_fit_run_task(fit_id: int) -> None:
    try:
        services.valuation_fit_run(fit_id=fit_id)
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        # Anything else is a bug or bad data: record it on the fit for the admin, then fail.
        services.valuation_fit_fail(fit_id=fit_id, error=f"{type(error).__name__}: {error}")
        raise


@shared_task
def valuation_nightly_refit() -> int:
    return services.valuation_fit_request().pk
