"""Mail tasks: thin, by id, idempotent (docs/architecture.md), and the request that sends one
after the commit (a task module imports its services, never the reverse)."""

import logging
from dataclasses import asdict
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.dispatch import PUBLISH_RETRY_POLICY, enqueue_on_commit
from core.tasks import retry_transient

from . import imap, services
from .models import Delivery, Mailbox, Message

logger = logging.getLogger(__name__)

# A message still queued this long after it was written lost its task (broker down at the
# commit, worker killed): the sweeper sends it again. Longer than every retry of the policy
# takes (backoff capped at MAIL_SEND_BACKOFF_MAX), so a message still being retried is left to
# its own retries; a duplicate task would find it sent or locked and do nothing anyway.
UNSENT_AFTER = timedelta(minutes=30)


@shared_task(
    bind=True,
    acks_late=True,
    **retry_transient(
        max_retries=settings.MAIL_SEND_RETRIES,
        backoff_max=settings.MAIL_SEND_BACKOFF_MAX,
        also=(services.MailTransientError,),
    ),
)
def mail_send_task(self, message_id: int) -> str:
    """Send one queued message. A mail server's 4xx or a connection that fails is retried with
    the task policy's backoff; the last try marks the message failed."""
    return services.mail_send(
        message_id=message_id, retrying=self.request.retries < self.max_retries
    )


def mail_send_request(message_id: int) -> None:
    """Send the message from a worker once the surrounding transaction has committed."""
    enqueue_on_commit(mail_send_task, message_id)


@shared_task
def mail_unsent_sweep() -> int:
    """Every few minutes (celery beat): send again what is queued and was never sent."""
    ids = list(
        Message.objects.filter(
            delivery=Delivery.QUEUED, created_at__lt=timezone.now() - UNSENT_AFTER
        ).values_list("pk", flat=True)[:1000]
    )
    for message_id in ids:
        mail_send_task.apply_async(args=(message_id,), retry_policy=PUBLISH_RETRY_POLICY)
    if ids:
        logger.warning("re-sent %d unsent messages", len(ids))
    return len(ids)


# IMAP polling (mail.imap) -----------------------------------------------------------------


@shared_task
def mailboxes_poll() -> int:
    """Celery beat, every minute: one poll task per mailbox with IMAP settings, so that
    several workers poll several mailboxes at once (each mailbox one poll at a time)."""
    ids = list(imap.mailboxes_pollable().values_list("pk", flat=True))
    for mailbox_id in ids:
        enqueue_on_commit(mailbox_poll_task, mailbox_id)
    return len(ids)


@shared_task(**retry_transient())
def mailbox_poll_task(mailbox_id: int, force: bool = False) -> dict:
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
    if mailbox is None:
        return {"skipped": "no such mailbox"}
    return asdict(imap.mailbox_poll(mailbox, force=force))
