"""Celery tasks of the webhooks: thin, by id, idempotent (docs/architecture.md)."""

from collections.abc import Iterable

from celery import shared_task

from core.dispatch import enqueue_on_commit
from core.tasks import retry_transient

from . import services


@shared_task(**retry_transient())
def webhook_deliver(delivery_id: int, claim: int) -> str:
    """One attempt of one delivery; what the receiver answers is recorded, never raised (a
    failed attempt is retried by the sweeper on the schedule)."""
    return services.delivery_send(delivery_id=delivery_id, claim=claim)


def webhook_deliver_after_commit(delivery_id: int, claim: int) -> None:
    enqueue_on_commit(webhook_deliver, delivery_id, claim)


@shared_task
def webhooks_deliver_due() -> int:
    """The sweeper (celery beat): retries whose time has come, sends whose task was lost."""
    due = services.deliveries_claim_due()
    for delivery_id, claim in due:
        webhook_deliver.delay(delivery_id, claim)
    return len(due)


def deliveries_resend(delivery_ids: Iterable[int]) -> int:
    """An admin's "resend", sent after the commit."""
    claimed = services.deliveries_resend(delivery_ids=delivery_ids)
    for delivery_id, claim in claimed:
        webhook_deliver_after_commit(delivery_id, claim)
    return len(claimed)
