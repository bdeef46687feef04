"""Interactions tasks: thin, idempotent (docs/architecture.md)."""

from celery import shared_task

from core.tasks import retry_transient

from . import services


@shared_task(**retry_transient())
def interactions_due_recompute_task(types: list[str] | None = None) -> int:
    """The stored due times rewritten after a policy or calendar change, on a worker (the
    services do it in their transaction; this is for a large base or an operator)."""
    return services.interactions_due_recompute(types=types)


@shared_task(**retry_transient())
def service_level_escalate() -> int:
    """Notices for items near or past their response due time (every 5 minutes, beat)."""
    return services.service_level_escalate()
