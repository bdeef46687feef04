"""Mail tasks: thin, by id, idempotent (docs/architecture.md)."""

from dataclasses import asdict

from celery import shared_task

from core.dispatch import enqueue_on_commit
from core.tasks import retry_transient

from . import imap
from .models import Mailbox

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
