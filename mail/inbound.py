"""One service behind the three ways mail comes in (IMAP polling, the MTA pipe, the inbound
HTTP endpoint): `mail_receive(raw, via=...)` stores a message once, threads it, finds its
customer and logs the interaction the learning loop runs on (docs/email.md, "Inbound").

It never raises on what a message contains (parsing names the problems instead); it raises on
infrastructure (the database away), so that each way in can ask for the message again later:
the MTA by a temporary failure, IMAP by leaving it in the folder, a provider by a 503.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import bounds
from core.ratelimit import rate_limit_hit
from customers.models import Customer
from customers.selectors import customers_by_email
from customers.services import customer_prospect_create
from events.names import EventName
from events.services import event_publish
from interactions.choices import Channel, Direction, InteractionType
from interactions.models import Interaction
from interactions.services import interaction_log

from . import parsing, tokens
from .models import (
    Attachment,
    BouncingAddress,
    Delivery,
    Mailbox,
    Match,
    Message,
    MessageKind,
    Rule,
    RuleField,
)

# Attachment types never stored: what runs when opened (the message keeps a note of them).
REFUSED_EXTENSIONS = {
    "bat", "cmd", "com", "cpl", "dll", "exe", "hta", "jar", "js", "jse", "lnk", "msi", "pif",
    "ps1", "scr", "sh", "vbe", "vbs", "wsf",
}  # fmt: skip
REFUSED_TYPES = {
    "application/x-msdownload",
    "application/x-dosexec",
    "application/x-sh",
    "application/javascript",
    "text/javascript",
}
NO_SUBJECT = "(no subject)"
NOTES_MAX = 20_000


@dataclass(frozen=True)
class Received:
    message: Message
    created: bool  # False: this Message-ID was stored before, nothing was written

    @property
    def interaction(self) -> Interaction | None:
        return self.message.interaction


class MessageTooLarge(ValueError):
    pass


def _stored(message_id: str) -> Message | None:
    return Message.objects.select_related("interaction").filter(message_id=message_id).first()


def mail_receive(raw: bytes, *, via: str, mailbox: Mailbox | None = None) -> Received:
    """Store one raw RFC 5322 message and everything it starts; idempotent by Message-ID (a
    message without one is known by the hash of its bytes)."""
    if len(raw) > settings.MAIL_MESSAGE_MAX_BYTES:
        raise MessageTooLarge(
            f"The message is {len(raw):,} bytes; at most "
            f"{settings.MAIL_MESSAGE_MAX_BYTES:,} are accepted (MAIL_MESSAGE_MAX_BYTES)."
        )
    parsed = parsing.parse(raw)
    existing = _stored(parsed.message_id)
    if existing is not None:
        return Received(message=existing, created=False)
    try:
        message = _store(raw, parsed, via=via, mailbox=mailbox)
    except IntegrityError:
        # The same message arrived by two ways at once: the other one stored it.
        existing = _stored(parsed.message_id)
        if existing is None:
            raise
        return Received(message=existing, created=False)
    return Received(message=message, created=True)


def _mailbox_for(parsed: parsing.Parsed) -> Mailbox | None:
    """The mailbox the message was sent to (its address, plus-tags aside), else the default."""
    bases = {tokens.address_base(address) for address in parsed.recipients}
    mailboxes = list(Mailbox.objects.filter(Q(address__in=bases) | Q(is_default=True)))
    for mailbox in mailboxes:
        if mailbox.address.lower() in bases:
            return mailbox
    return mailboxes[0] if mailboxes else None


def _thread_by_headers(parsed: parsing.Parsed) -> Interaction | None:
    """The interaction of the message this one answers (In-Reply-To, then References from
    the latest): the thread survives clients that keep only one of them."""
    ids = [*parsed.in_reply_to, *reversed(parsed.references)]
    if not ids:
        return None
    known = dict(
        Message.objects.filter(message_id__in=ids, interaction__isnull=False).values_list(
            "message_id", "interaction_id"
        )
    )
    for message_id in ids:
        if message_id in known:
            return Interaction.objects.filter(pk=known[message_id]).first()
    return None


def _root(interaction: Interaction) -> Interaction:
    if interaction.thread_id is None:
        return interaction
    return Interaction.objects.get(pk=interaction.thread_id)


def _thread_and_customer(
    parsed: parsing.Parsed,
) -> tuple[Interaction | None, Customer | None, str]:
    """(thread root, customer, how the customer was matched) of an inbound message."""
    owners = customers_by_email([parsed.from_address]).get(parsed.from_address, [])
    thread = _thread_by_headers(parsed)
    if thread is None:
        token_thread = tokens.thread_from_addresses(parsed.recipients)
        if token_thread is not None:
            thread = Interaction.objects.filter(pk=token_thread).first()
    if thread is None:
        tagged = tokens.subject_tag_read(parsed.subject)
        if tagged is not None:
            # Anyone can type a tag: it threads only mail from the thread's own customer.
            candidate = Interaction.objects.filter(pk=tagged, customer_id__in=owners).first()
            thread = candidate
    if thread is not None:
        root = _root(thread)
        customer = Customer.objects.get(pk=root.customer_id)
        return root, customer, Match.KNOWN if customer.pk in owners else Match.THREAD
    if len(owners) == 1:
        return None, Customer.objects.get(pk=owners[0]), Match.KNOWN
    if owners:
        # Two profiles share the address: the oldest gets it, the conversation says so, and
        # merging them is a person's decision.
        return None, Customer.objects.get(pk=owners[0]), Match.AMBIGUOUS
    return None, None, Match.NEW


def _type(parsed: parsing.Parsed, mailbox: Mailbox | None) -> str:
    rules = Rule.objects.filter(Q(mailbox=mailbox) | Q(mailbox__isnull=True))
    subject = parsed.subject.lower()
    body = parsed.text.lower()
    for rule in rules:
        needle = rule.contains.lower()
        haystack = {
            RuleField.SUBJECT: subject,
            RuleField.BODY: body,
            RuleField.ANY: f"{subject}\n{body}",
            RuleField.SENDER: parsed.from_address,
        }[RuleField(rule.field)]
        if needle and needle in haystack and rule.type in InteractionType.values:
            return rule.type
    default = mailbox.default_type if mailbox is not None else InteractionType.INQUIRY
    return default if default in InteractionType.values else InteractionType.INQUIRY


def _occurred_at(parsed: parsing.Parsed, thread: Interaction | None) -> datetime:
    """When the customer wrote, from the Date header when it is believable, else now; never
    before the latest item of its thread (a Date has whole seconds, a sender's clock may be
    behind, and an answer does not come before what it answers)."""
    now = timezone.now()
    written = now
    if parsed.date is not None:
        try:
            bounds.validate_happened_at(parsed.date)
            written = min(parsed.date, now)
        except Exception:
            written = now
    if thread is not None:
        latest = (
            Interaction.objects.filter(Q(pk=thread.pk) | Q(thread_id=thread.pk))
            .order_by("-occurred_at")
            .values_list("occurred_at", flat=True)
            .first()
        )
        if latest is not None and latest > written:
            written = min(latest, now)
    return written


def _raw_save(raw: bytes) -> str:
    digest = hashlib.sha256(raw).hexdigest()
    name = f"mail/raw/{digest[:2]}/{digest}.eml"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(raw))
    return name


def _attachments_save(message: Message, parts: list[parsing.AttachmentPart]) -> None:
    rows = []
    for part in parts:
        extension = part.filename.rpartition(".")[2].lower() if "." in part.filename else ""
        refused = ""
        if len(part.payload) > settings.MAIL_ATTACHMENT_MAX_BYTES:
            refused = (
                f"larger than {settings.MAIL_ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB "
                "(MAIL_ATTACHMENT_MAX_BYTES): not stored"
            )
        elif extension in REFUSED_EXTENSIONS or part.content_type in REFUSED_TYPES:
            refused = "a program or script: not stored"
        row = Attachment(
            message=message,
            filename=part.filename,
            content_type=part.content_type[:255],
            size=len(part.payload),
            refused=refused,
        )
        if not refused:
            digest = hashlib.sha256(part.payload).hexdigest()
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in part.filename)
            row.file.name = default_storage.save(
                f"mail/attachments/{digest[:2]}/{digest[:16]}-{safe[-80:]}",
                ContentFile(part.payload),
            )
        rows.append(row)
    Attachment.objects.bulk_create(rows)


def _prospect_create(parsed: parsing.Parsed) -> Customer:
    """A new prospect for an unknown sender; an address Django would not store as an email
    (`a@b`) is kept in the name and on the message rather than losing the message."""
    name = parsed.from_name or parsed.from_address.partition("@")[0]
    try:
        validate_email(parsed.from_address)
    except ValidationError:
        parsed.problems.append("the sender's address is not one a customer profile can hold")
        return customer_prospect_create(name=parsed.from_address, email="", source="email")
    return customer_prospect_create(name=name, email=parsed.from_address, source="email")


def _bounce_record(parsed: parsing.Parsed) -> Interaction | None:
    """A delivery report: the addresses it names bounce, the message it reports on is marked
    failed, and the report joins that message's thread (never answered)."""
    reason = parsed.bounce_reason or parsed.subject or "delivery failed"
    for address in parsed.bounced:
        bouncing, created = BouncingAddress.objects.get_or_create(
            address=address, defaults={"reason": reason[:500]}
        )
        if not created:
            BouncingAddress.objects.filter(pk=bouncing.pk).update(
                bounces=F("bounces") + 1, reason=reason[:500], last_bounced_at=timezone.now()
            )
        event_publish(EventName.ADDRESS_BOUNCED, payload={"address": address, "reason": reason})
    original = (
        Message.objects.filter(
            message_id__in=parsed.bounced_message_ids, direction=Direction.OUTBOUND
        )
        .select_related("interaction")
        .first()
    )
    if original is None or original.interaction is None:
        return None
    Message.objects.filter(pk=original.pk).update(
        delivery=Delivery.FAILED, delivery_error=f"Bounced: {reason}"[:2000]
    )
    return _root(original.interaction)


def _store(raw: bytes, parsed: parsing.Parsed, *, via: str, mailbox: Mailbox | None) -> Message:
    mailbox = mailbox or _mailbox_for(parsed)
    # A flood from one address is stored, but only the first messages of the hour reach
    # the queue (MAIL_SENDER_RATE).
    flooded = bool(parsed.from_address) and rate_limit_hit(
        scope="mail-sender", ident=parsed.from_address, rate=settings.MAIL_SENDER_RATE
    )
    raw_name = _raw_save(raw)
    with transaction.atomic():
        thread: Interaction | None
        customer: Customer | None
        if parsed.kind == MessageKind.BOUNCE:
            thread = _bounce_record(parsed)
            customer = Customer.objects.get(pk=thread.customer_id) if thread is not None else None
            match = Match.THREAD if thread is not None else Match.NONE
        else:
            thread, customer, match = _thread_and_customer(parsed)
            if customer is None and parsed.kind == MessageKind.REGULAR and parsed.from_address:
                customer = _prospect_create(parsed)
            elif customer is None:
                match = Match.NONE  # an automatic reply or list mail from nobody we know
            # Mail from an address clears its bounce: it works again.
            if parsed.kind == MessageKind.REGULAR and parsed.from_address:
                BouncingAddress.objects.filter(address=parsed.from_address).delete()
        interaction = None
        if customer is not None:
            needs_answer = parsed.kind == MessageKind.REGULAR and not flooded
            notes = parsed.text[:NOTES_MAX]
            if flooded:
                notes = f"[More than {settings.MAIL_SENDER_RATE} from this sender]\n{notes}"
            interaction = interaction_log(
                customer=customer,
                logged_by=None,
                channel=Channel.EMAIL,
                direction=Direction.INBOUND,
                type=_type(parsed, mailbox),
                subject=(parsed.subject or NO_SUBJECT)[:200],
                notes=notes,
                occurred_at=_occurred_at(parsed, thread),
                requires_response=needs_answer,
                thread=thread,
            )
        message = Message.objects.create(
            direction=Direction.INBOUND,
            kind=parsed.kind,
            via=via,
            message_id=parsed.message_id,
            mailbox=mailbox,
            interaction=interaction,
            match=match,
            from_address=parsed.from_address,
            from_name=parsed.from_name,
            to=parsed.to[:50],
            cc=parsed.cc[:50],
            subject=parsed.subject,
            in_reply_to=" ".join(parsed.in_reply_to)[:998],
            references=" ".join(parsed.references)[:20_000],
            date=parsed.date if parsed.date and parsed.date.year >= 1900 else None,
            text=parsed.text,
            text_full=parsed.text_full,
            html=parsed.html,
            raw=raw_name,
            size=len(raw),
            problems=parsed.problems[:20],
        )
        _attachments_save(message, parsed.attachments)
    return message
