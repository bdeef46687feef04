"""Inbound mail for the outbound tests, written as rows (the receiving side has its own tests):
an inbound email interaction with its `mail.Message`, as `mail_receive` leaves them."""

from datetime import timedelta

from django.utils import timezone

from interactions.services import interaction_log
from mail.models import Mailbox, Message


def mailbox_default(address: str = "support@firm.example") -> Mailbox:
    mailbox, _ = Mailbox.objects.get_or_create(
        address=address, defaults={"name": "Support", "is_default": True}
    )
    return mailbox


def inbound_mail(
    customer,
    *,
    subject: str = "Grinder broken",
    text: str = "My grinder stopped working.",
    message_id: str = "abc@example.net",
    from_address: str | None = None,
    thread=None,
    references: str = "",
    match: str = "known",
    mailbox: Mailbox | None = None,
    minutes_ago: int = 60,
    text_full: str = "",
    html: str = "",
):
    interaction = interaction_log(
        customer=customer,
        logged_by=None,
        channel="email",
        direction="inbound",
        type="inquiry",
        subject=subject,
        notes=text,
        thread=thread,
        occurred_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    Message.objects.create(
        direction="inbound",
        kind="regular",
        via="imap",
        match=match,
        message_id=message_id,
        mailbox=mailbox,
        interaction=interaction,
        from_address=from_address or customer.email,
        from_name=customer.name,
        to=[mailbox.address if mailbox else "support@firm.example"],
        subject=subject,
        references=references,
        text=text,
        text_full=text_full or text,
        html=html,
    )
    return interaction
