"""Writes of the email channel's outbound side (docs/email.md, "Outbound"): replies to a
conversation, new outreach, the send itself and canned replies; and erasure.

A reply or an outreach is written in one transaction: the outbound interaction (the learning
loop's record), the first response on the item answered, and the `Message` with its threading
headers, queued. The send happens after the commit, in a worker (`mail.tasks`), which is why
these services take `send`: the task module's request (`mail.tasks.mail_send_request`), since
a services module never imports its tasks (docs/architecture.md). A message nobody sent is
found again by the sweeper (`mail.tasks.mail_unsent_sweep`).
"""

import logging
import re
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.headerregistry import Address
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError
from django.utils import timezone

from core.money import can_see_money
from customers.choices import Channel
from customers.facts import customer_current_facts
from customers.models import ChannelConsent, Customer, email_normalise
from customers.services import ERASED
from interactions.choices import Direction, InteractionType
from interactions.models import Interaction
from interactions.services import interaction_log, interaction_respond

from .models import (
    Attachment,
    BouncingAddress,
    CannedReply,
    Delivery,
    Mailbox,
    Message,
    MessageKind,
    Via,
)
from .tokens import message_id_new, subject_tagged, thread_address

logger = logging.getLogger(__name__)

# A header value is one line: any control character (CR, LF, NUL, the other line breaks
# Python and mail software know) would end it and start another header.
HEADER_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw|r)\s*:", re.IGNORECASE)
MAX_CC = 20
MAX_ATTACHMENTS = 10
# References keeps the thread's first id and the latest ones (RFC 5322 §3.6.4 allows
# trimming); a long thread would otherwise grow the header without bound.
MAX_REFERENCES = 20
OUTREACH_TYPES = (InteractionType.OUTREACH, InteractionType.OFFER)

Send = Callable[[int], None]


def one_line(value: str) -> str:
    """A value made safe for a header it did not come from a person typing it for (a stored
    subject, a user's name): line breaks and other control characters become spaces."""
    return " ".join(HEADER_BREAKS.sub(" ", value or "").split())


def header_value_check(value: str, *, field: str, label: str) -> str:
    """What a person typed for a header: refused, naming the field, when it holds a line break
    (it could otherwise start a header of its own)."""
    if HEADER_BREAKS.search(value or ""):
        raise ValidationError({field: f"The {label} must be one line (no line breaks)."})
    return value.strip()


def address_check(value, *, field: str) -> str:
    """One email address, normalised; anything else (line breaks, several addresses, a name
    with it) is refused naming the field."""
    if not isinstance(value, str) or HEADER_BREAKS.search(value):
        raise ValidationError({field: "An address must be one line (no line breaks)."})
    address = email_normalise(value)
    try:
        validate_email(address)
    except ValidationError:
        shown = address if len(address) <= 80 else address[:77] + "…"
        raise ValidationError({field: f"“{shown}” is not an email address."}) from None
    return address


def reply_subject(subject: str) -> str:
    """ "Re: " once, however many times the conversation went back and forth."""
    subject = one_line(subject) or "(no subject)"
    return subject if REPLY_PREFIX.match(subject) else f"Re: {subject}"


def root_id_of(interaction: Interaction) -> int:
    return interaction.thread_id or interaction.pk


def thread_items(root_id: int):
    return Interaction.objects.filter(Q(pk=root_id) | Q(thread_id=root_id))


def thread_latest_inbound(root_id: int) -> Message | None:
    """The thread's latest regular message from the customer (not a bounce, an auto-reply
    or list mail): whom a reply goes to and which message it answers."""
    return (
        Message.objects.filter(
            Q(interaction_id=root_id) | Q(interaction__thread_id=root_id),
            direction=Direction.INBOUND,
            kind=MessageKind.REGULAR,
        )
        .select_related("mailbox")
        .order_by("-created_at", "-id")
        .first()
    )


def thread_latest_sent(root_id: int) -> Message | None:
    return (
        Message.objects.filter(
            Q(interaction_id=root_id) | Q(interaction__thread_id=root_id),
            direction=Direction.OUTBOUND,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def mailbox_default() -> Mailbox | None:
    return Mailbox.objects.filter(is_default=True).first()


def sender_address(mailbox: Mailbox | None) -> str:
    return mailbox.address if mailbox is not None else settings.DEFAULT_FROM_EMAIL


def sender_name(user) -> str:
    if user is None:
        return ""
    return one_line(user.get_full_name() or user.get_username())[:200]


def _references(inbound: Message | None) -> tuple[str, str]:
    """In-Reply-To and References of a reply to `inbound`, stored without brackets."""
    if inbound is None:
        return "", ""
    ids = [*inbound.references.split(), inbound.message_id]
    # Ids stored as a hash (too long for the column) are not the real ids: leave them out.
    ids = [one for one in dict.fromkeys(ids) if one and not one.startswith("sha256:")]
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    in_reply_to = inbound.message_id if not inbound.message_id.startswith("sha256:") else ""
    return in_reply_to, " ".join(ids)


@dataclass(frozen=True)
class _Upload:
    name: str
    content_type: str
    size: int
    file: File


def _attachments_check(attachments: Iterable) -> list[_Upload]:
    uploads = []
    for uploaded in attachments:
        name = PurePath(one_line(getattr(uploaded, "name", "") or "")).name[:255] or "attachment"
        content_type = one_line(getattr(uploaded, "content_type", "") or "")[:255]
        if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", content_type):
            content_type = "application/octet-stream"
        size = uploaded.size or 0
        if size > settings.MAIL_ATTACHMENT_MAX_BYTES:
            limit = settings.MAIL_ATTACHMENT_MAX_BYTES // (1024 * 1024)
            raise ValidationError({"attachments": f"{name} is larger than {limit} MB."})
        # An upload (UploadedFile) is a File already; anything else file-like is wrapped.
        file = uploaded if isinstance(uploaded, File) else File(uploaded, name=name)
        uploads.append(_Upload(name=name, content_type=content_type, size=size, file=file))
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationError({"attachments": f"At most {MAX_ATTACHMENTS} attachments."})
    if sum(upload.size for upload in uploads) > settings.MAIL_MESSAGE_MAX_BYTES:
        raise ValidationError({"attachments": "The attachments together are too large."})
    return uploads


def _body_check(body: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise ValidationError({"body": "Write the message."})
    if "\x00" in body:
        raise ValidationError({"body": "The message holds a NUL character."})
    return body.strip()


def _message_queue(
    *,
    interaction: Interaction,
    root_id: int,
    mailbox: Mailbox | None,
    to: str,
    cc: list[str],
    subject: str,
    body: str,
    in_reply_to: str,
    references: str,
    sent_by,
    uploads: list[_Upload],
) -> Message:
    message = Message(
        direction=Direction.OUTBOUND,
        kind=MessageKind.REGULAR,
        via=Via.APP,
        message_id=message_id_new(root_id).strip("<>"),
        mailbox=mailbox,
        interaction=interaction,
        from_address=sender_address(mailbox),
        from_name=sender_name(sent_by),
        to=[to],
        cc=cc,
        subject=subject[:998],
        in_reply_to=in_reply_to,
        references=references,
        text=body,
        text_full=body,
        size=len(body.encode()) + sum(upload.size for upload in uploads),
        delivery=Delivery.QUEUED,
        sent_by=sent_by,
    )
    message.full_clean(exclude=["mailbox", "interaction", "sent_by", "raw"])
    message.save()
    for upload in uploads:
        attachment = Attachment(
            message=message,
            filename=upload.name,
            content_type=upload.content_type,
            size=upload.size,
        )
        attachment.file.save(upload.name, upload.file, save=False)
        attachment.save()
    return message


@transaction.atomic
def mail_reply_send(
    *,
    interaction: Interaction,
    body: str,
    sent_by,
    cc: Iterable[str] = (),
    attachments: Iterable = (),
    send: Send | None = None,
) -> Interaction:
    """Answer an item of a conversation by email. Service replies are always allowed (no
    consent needed, even to a bouncing address: the page warns). Returns the outbound
    interaction; its message is queued and `send(message_id)` is called to send it after the
    commit."""
    body = _body_check(body)
    cc = list(cc)
    if len(cc) > MAX_CC:
        raise ValidationError({"cc": f"At most {MAX_CC} addresses."})
    cc = list(dict.fromkeys(address_check(address, field="cc") for address in cc))
    uploads = _attachments_check(attachments)
    customer = interaction.customer
    root_id = root_id_of(interaction)
    root = interaction if root_id == interaction.pk else Interaction.objects.get(pk=root_id)
    inbound = thread_latest_inbound(root_id)
    to = (inbound.from_address if inbound is not None else "") or customer.email
    if not to:
        raise ValidationError(
            {"to": f"{customer.name} has no email address: add one to the customer first."}
        )
    to = address_check(to, field="to")
    replied = getattr(interaction, "message", None)  # the item's own mail, if it came by mail
    subject = reply_subject(replied.subject if replied is not None else interaction.subject)
    mailbox = inbound.mailbox if inbound is not None and inbound.mailbox else mailbox_default()
    # What the reply answers: the customer's latest message, else (a follow-up of our own
    # outreach) the latest one we sent, so that their client threads it either way.
    in_reply_to, references = _references(inbound or thread_latest_sent(root_id))
    reply = interaction_log(
        customer=customer,
        logged_by=sent_by,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        type=interaction.type,
        subject=subject[:200],
        notes=body,
        thread=root,
        requires_response=False,
    )
    if interaction.requires_response and interaction.first_response_at is None:
        interaction_respond(interaction=interaction)
    message = _message_queue(
        interaction=reply,
        root_id=root_id,
        mailbox=mailbox,
        to=to,
        cc=cc,
        subject=subject,
        body=body,
        in_reply_to=in_reply_to,
        references=references,
        sent_by=sent_by,
        uploads=uploads,
    )
    if send is not None:
        send(message.pk)
    return reply


def outreach_refusal(customer: Customer) -> str:
    """Why an offer or outreach may not go to this customer by email ("" when it may)."""
    if not customer.email:
        return f"{customer.name} has no email address."
    consented = ChannelConsent.objects.filter(
        customer=customer, channel=Channel.EMAIL, granted=True
    ).exists()
    if not consented:
        return f"{customer.name} has not agreed to be contacted by email."
    if BouncingAddress.objects.filter(address=email_normalise(customer.email)).exists():
        return f"Mail to {customer.email} bounces: check the address first."
    return ""


@transaction.atomic
def mail_outreach_send(
    *,
    customer: Customer,
    subject: str,
    body: str,
    sent_by,
    type: str = InteractionType.OUTREACH,
    send: Send | None = None,
) -> Interaction:
    """Start a conversation by email (an offer or outreach): only to a customer who agreed to
    email and whose address does not bounce."""
    if type not in OUTREACH_TYPES:
        raise ValidationError({"type": "Outreach by email is an offer or an outreach."})
    subject = header_value_check(subject, field="subject", label="subject")
    if not subject:
        raise ValidationError({"subject": "Give the message a subject."})
    if len(subject) > 200:
        raise ValidationError({"subject": "At most 200 characters."})
    body = _body_check(body)
    refused = outreach_refusal(customer)
    if refused:
        raise ValidationError({"customer": refused})
    to = address_check(customer.email, field="to")
    root = interaction_log(
        customer=customer,
        logged_by=sent_by,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        type=type,
        subject=subject,
        notes=body,
        requires_response=False,
    )
    message = _message_queue(
        interaction=root,
        root_id=root.pk,
        mailbox=mailbox_default(),
        to=to,
        cc=[],
        subject=subject,
        body=body,
        in_reply_to="",
        references="",
        sent_by=sent_by,
        uploads=[],
    )
    if send is not None:
        send(message.pk)
    return root


# --- The send --------------------------------------------------------------------------------


class MailTransientError(Exception):
    """The mail server could not take the message now (4xx, connection refused, timeout):
    the task tries again later (core.tasks.retry_transient(also=...))."""


def _text(raw) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def smtp_failure(error: Exception) -> tuple[bool, str]:
    """(transient?, what to show) for an error of the send."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        said = "; ".join(
            f"{address}: {code} {_text(text)}" for address, (code, text) in error.recipients.items()
        )
        return bool(codes) and all(400 <= code < 500 for code in codes), f"Refused: {said}"
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        return 400 <= code < 500, f"{code} {_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True, f"The mail server closed the connection: {error}"
    if isinstance(error, (BadHeaderError, ValueError)):
        return False, f"The message could not be written: {error}"
    if isinstance(error, OSError):  # refused, unreachable, timed out, TLS
        return True, f"Could not reach the mail server: {error.__class__.__name__}: {error}"
    return False, f"{error.__class__.__name__}: {error}"


def email_build(message: Message, *, connection=None) -> EmailMultiAlternatives:
    """The email as it goes out. Every header value is one line here again (a stored value
    from elsewhere may not be), and Django refuses any that is not (BadHeaderError)."""
    interaction = message.interaction
    root_id = root_id_of(interaction) if interaction is not None else message.pk
    from_address = address_check(message.from_address, field="from")
    sender = str(Address(display_name=one_line(message.from_name), addr_spec=from_address))
    headers = {"Message-ID": f"<{message.message_id}>"}
    if message.in_reply_to:
        headers["In-Reply-To"] = f"<{one_line(message.in_reply_to)}>"
    if message.references:
        headers["References"] = " ".join(f"<{one}>" for one in one_line(message.references).split())
    email = EmailMultiAlternatives(
        subject=subject_tagged(one_line(message.subject), root_id),
        body=message.text_full or message.text,
        from_email=sender,
        to=[address_check(address, field="to") for address in message.to],
        cc=[address_check(address, field="cc") for address in message.cc],
        reply_to=[thread_address(from_address, root_id)],
        headers=headers,
        connection=connection,
    )
    for attachment in message.attachments.all():
        if not attachment.file:
            continue
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)
    return email


def mail_send(*, message_id: int, retrying: bool = False) -> str:
    """Send one queued message through Django's email backend; returns what happened ("sent",
    "retry", "failed", "skipped": not queued, or another worker is on it).

    Idempotent: a message already sent (or being sent by another worker, whose row lock this
    skips) is not sent again. A transient failure (4xx, connection refused, timeout) keeps it
    queued and raises MailTransientError while `retrying`; the last try, or a permanent 5xx,
    marks it failed with the server's answer, shown on the conversation with "Send again"."""
    transient = None
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("interaction")
            .filter(pk=message_id, delivery=Delivery.QUEUED, direction=Direction.OUTBOUND)
            .first()
        )
        if message is None:
            return "skipped"
        message.attempts += 1
        try:
            email = email_build(message, connection=get_connection(fail_silently=False))
            email.send(fail_silently=False)
        except ValidationError as error:
            message.delivery = Delivery.FAILED
            message.delivery_error = "; ".join(error.messages)
            outcome = "failed"
        except Exception as error:  # classified: a bug still ends as a visible failure
            is_transient, said = smtp_failure(error)
            if is_transient and retrying:
                message.delivery_error = f"{said} (attempt {message.attempts}, trying again)"
                transient = said
                outcome = "retry"
            else:
                message.delivery = Delivery.FAILED
                message.delivery_error = said
                outcome = "failed"
            logger.warning(
                "mail %s to %s: %s", message.pk, message.to, said, extra={"message_id": message.pk}
            )
        else:
            message.delivery = Delivery.SENT
            message.sent_at = timezone.now()
            message.delivery_error = ""
            outcome = "sent"
        message.save(update_fields=["attempts", "delivery", "delivery_error", "sent_at"])
    if transient is not None:
        raise MailTransientError(transient)
    return outcome


@transaction.atomic
def mail_send_again(*, message: Message, send: Send | None = None) -> bool:
    """Queue a failed message again ("Send again"); returns whether it was failed."""
    queued = Message.objects.filter(
        pk=message.pk, direction=Direction.OUTBOUND, delivery=Delivery.FAILED
    ).update(delivery=Delivery.QUEUED, delivery_error="")
    if queued and send is not None:
        send(message.pk)
    message.refresh_from_db(fields=["delivery", "delivery_error"])
    return bool(queued)


# --- Canned replies --------------------------------------------------------------------------

# Canned replies are Django templates written by admins, rendered as plain text: no
# autoescaping (the text is mail, not HTML), no template files to include or extend, only the
# built-in tags and filters, and a context of plain values (never a model to walk from).
_ENGINE = Engine(autoescape=False, loaders=[], libraries={}, string_if_invalid="")


def canned_reply_context(*, customer: Customer, user) -> dict:
    facts = customer_current_facts(customer_id=customer.pk, money=can_see_money(user))
    name = customer.name.strip()
    first_name = name.split()[0] if name and customer.kind == "person" else name
    return {
        "customer": {"name": name, "first_name": first_name},
        "facts": {fact.key.key: fact.value for fact in facts},
        "me": sender_name(user),
    }


TEMPLATE_ERRORS = (
    TemplateSyntaxError,
    TemplateDoesNotExist,
    ValueError,
    TypeError,
    LookupError,
    ArithmeticError,
)


def _template_error(error: Exception) -> ValidationError:
    return ValidationError({"body": f"The canned reply's template does not work: {error}"})


def canned_reply_check(body: str) -> None:
    """Refuse a canned reply body that is not a working template (for the admin's form)."""
    try:
        template = _ENGINE.from_string(body)
        template.render(
            Context(
                {"customer": {"name": "Anna Keller", "first_name": "Anna"}, "facts": {}, "me": ""}
            )
        )
    except TEMPLATE_ERRORS as error:
        raise _template_error(error) from None


def canned_reply_render(*, canned: CannedReply, customer: Customer, user) -> str:
    """The canned reply's text for this customer, as `user` would send it."""
    try:
        template = _ENGINE.from_string(canned.body)
        return template.render(Context(canned_reply_context(customer=customer, user=user))).strip()
    except TEMPLATE_ERRORS as error:
        raise _template_error(error) from None


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
