"""Celery tasks of the workspace: thin, idempotent (docs/architecture.md)."""

from celery import shared_task

from core.tasks import retry_transient

from . import services


@shared_task(**retry_transient())
def offering_affinities_refresh() -> int:
    """Recount which offerings customers hold together. Scheduled nightly; safe to run twice."""
    return services.offering_affinities_refresh()


@shared_task(**retry_transient())
def portfolio_equity_record() -> int:
    """Record each manager's customer equity for today. Scheduled just before midnight."""
    return services.portfolio_equity_record()
