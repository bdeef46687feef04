"""Celery tasks of the workspace: thin, idempotent (docs/architecture.md)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=8,
    retry_jitter=True,
)
def offering_affinities_refresh() -> int:
    """Recount which offerings customers hold together. Scheduled nightly; safe to run twice."""
    return services.offering_affinities_refresh()


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=8,
    retry_jitter=True,
)
def portfolio_equity_record() -> int:
    """Record each manager's customer equity for today. Scheduled just before midnight."""
    return services.portfolio_equity_record()
