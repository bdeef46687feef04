"""Writes of the email channel besides receiving (mail.inbound): erasure."""

from django.core.files.storage import default_storage

from customers.services import ERASED

from .models import Attachment, Message


def mail_personal_data_erase(*, customer_id: int) -> int:
    """Erase what the customer's messages hold (SPEC §7), in the erasure's transaction
    (mail.handlers, on `customer.erased`): their text, names, addresses, raw copies and
    attachments. The messages stay as records that mail was exchanged. Files are deleted at
    once; a rolled-back erasure would leave the rows pointing at none (the raw copy of a
    message is a convenience, its text was stored apart)."""
    messages = Message.objects.filter(interaction__customer_id=customer_id)
    raw_names = [name for name in messages.values_list("raw", flat=True) if name]
    attachments = Attachment.objects.filter(message__in=messages)
    files = [name for name in attachments.values_list("file", flat=True) if name]
    for name in [*raw_names, *files]:
        if default_storage.exists(name):
            default_storage.delete(name)
    attachments.delete()
    return messages.update(
        subject=ERASED,
        text="",
        text_full="",
        html="",
        from_name="",
        from_address="",
        to=[],
        cc=[],
        raw="",
        problems=[],
    )
