"""Celery tasks for replenishment: thin, idempotent (docs/architecture.md)."""

from celery import shared_task

from core.tasks import retry_transient

from . import services


@shared_task(**retry_transient())
def replenishments_run() -> int:
    """Turn due replenishment subscriptions into interactions. Scheduled; safe to run twice."""
    return services.replenishments_deliver_due()
