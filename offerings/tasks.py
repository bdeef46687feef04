"""Celery tasks for offerings: thin, idempotent (docs/architecture.md)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services

TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=8,
    retry_jitter=True,
)
def replenishments_run() -> int:
    """Turn due replenishment subscriptions into interactions. Scheduled; safe to run twice."""
    return services.replenishments_deliver_due()
