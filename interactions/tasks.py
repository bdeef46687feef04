"""Interactions tasks: thin, idempotent (docs/architecture.md)."""

import smtplib
from datetime import datetime

from celery import shared_task
from django.db import transaction

from core.dispatch import enqueue_group_on_commit
from core.tasks import retry_transient

from . import services

# A mail server away for a moment is tried again; the notices not yet sent stay marked so.
SMTP_TRANSIENT = (ConnectionError, smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected)


@shared_task(**retry_transient())
def interactions_due_recompute_task(types: list[str] | None = None) -> int:
    """The stored due times rewritten after a policy or calendar change, on a worker (the
    services do it in their transaction; this is for a large base or an operator)."""
    return services.interactions_due_recompute(types=types)


@shared_task(**retry_transient())
def service_level_escalate(now: str | None = None) -> int:
    """Notices for items near or past their response or resolution due time (every 5
    minutes, beat; `now`, ISO 8601, for tests and operators), then one e-mail per person of
    the notices written, sent by a worker after the commit. Returns the notices written."""
    at = datetime.fromisoformat(now) if now else None
    with transaction.atomic():
        written = services.service_level_notices_write(now=at)
        enqueue_group_on_commit(notices_email_send, list(written.items()))
    return sum(len(ids) for ids in written.values())


@shared_task(**retry_transient(max_retries=3, also=SMTP_TRANSIENT))
def notices_email_send(user_id: int, notice_ids: list[int]) -> int:
    """One person's e-mail of the notices of one escalation run, after its commit."""
    return services.notices_email_send(user_id=user_id, notice_ids=notice_ids)
