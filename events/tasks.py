"""Celery tasks of the event seam: thin, by id, idempotent (docs/architecture.md)."""

from celery import shared_task

from . import services


@shared_task
def events_relay_pending() -> int:
    return services.events_relay_pending()
