"""Customers' periodic work (celery beat, crm.settings.base.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from core.tasks import retry_transient

from . import services


@shared_task(**retry_transient())
def customer_duplicates_report() -> int:
    """Rewrite the admins' duplicate report (customers.duplicates)."""
    return services.customer_duplicates_report()
