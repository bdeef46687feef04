"""The customer's requests in the portal (docs/portal.md, "Requests"): the conversations in
which they asked something (an inbound item that needs or had an answer, the support queue's
notion), each with what was written to and by them, and a reply that joins the email thread.

A reply from the portal is written as the e-mail it stands for and handed to
`mail.inbound.mail_receive` with `Via.PORTAL`: the same path as a reply by mail, so it is
threaded (by In-Reply-To and the signed thread address), logged as an inbound interaction
that needs an answer (a due time from the service-level policy), resumes a clock paused
"waiting on the customer", and shows in the staff conversation page and queue. The portal
adds nothing of its own on that path.

What the customer sees of a conversation is what was written to or by them: mail messages
in and out (their new text, never the raw HTML), and items the customer typed themself on
the web (a web form: no staff author). Items without a message on other channels (a call's
notes, a note in the thread, an import) are someone's account of it and never shown.
"""

import html
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Customer
from customers.selectors import customer_emails
from interactions.choices import Channel, Direction
from interactions.models import Interaction
from mail.inbound import MessageTooLarge, mail_receive
from mail.models import Mailbox, Message, MessageKind, Via
from mail.services import mailbox_default, one_line, reply_subject
from mail.tokens import mail_domain, subject_tagged, thread_address

REPLY_TEXT_MAX = 10_000
REQUESTS_LIMIT = 50
NONCE = re.compile(r"^[0-9a-f]{32}$")


class RequestStatus:
    WAITING = "Waiting for our answer"
    ANSWERED = "Answered"
    CLOSED = "Closed"


@dataclass
class CustomerRequest:
    root: Interaction
    status: str
    last_at: datetime


@dataclass
class Entry:
    """One message of a conversation as the customer reads it."""

    pk: int
    mine: bool  # written by the customer
    author: str
    at: datetime
    text: str


@dataclass
class RequestConversation:
    root: Interaction
    status: str
    entries: list[Entry]


def _asked(customer: Customer):
    """The customer's items the support queue would hold (or held): inbound, needing an
    answer."""
    return Interaction.objects.filter(
        customer=customer, direction=Direction.INBOUND, requires_response=True
    )


def _status(waiting: int, open_: int) -> str:
    if waiting:
        return RequestStatus.WAITING
    return RequestStatus.ANSWERED if open_ else RequestStatus.CLOSED


def requests_of_customer(
    *, customer: Customer, limit: int = REQUESTS_LIMIT
) -> list[CustomerRequest]:
    """The customer's requests, latest activity first; two queries whatever their number."""
    groups = list(
        _asked(customer)
        .annotate(root_id=Coalesce("thread_id", "id"))
        .values("root_id")
        .annotate(
            last_at=Max("occurred_at"),
            waiting=Count("id", filter=Q(first_response_at__isnull=True, resolved_at__isnull=True)),
            still_open=Count("id", filter=Q(resolved_at__isnull=True)),
        )
        .order_by("-last_at", "-root_id")[:limit]
    )
    roots = Interaction.objects.in_bulk(
        [g["root_id"] for g in groups]
    )  # the roots are the customer's (a thread never crosses customers)
    return [
        CustomerRequest(
            root=roots[g["root_id"]],
            status=_status(g["waiting"], g["still_open"]),
            last_at=g["last_at"],
        )
        for g in groups
        if g["root_id"] in roots and roots[g["root_id"]].customer_id == customer.pk
    ]


def request_root(*, customer: Customer, root_id: int) -> Interaction | None:
    """The root of one of the customer's requests; None for anything else (another
    customer's, a conversation that is not a request, a reply that is not a root)."""
    asked = _asked(customer).filter(Q(pk=OuterRef("pk")) | Q(thread_id=OuterRef("pk")))
    return (
        Interaction.objects.filter(pk=root_id, customer=customer, thread__isnull=True)
        .filter(Exists(asked))
        .first()
    )


def _shown(item: Interaction) -> bool:
    message = getattr(item, "message", None)
    if message is not None:
        return message.kind == MessageKind.REGULAR
    # No mail: only what the customer typed themself on the web (a web form: no staff
    # author); a call's or an import's notes are someone's account of it, never shown.
    return (
        item.direction == Direction.INBOUND
        and item.logged_by_id is None
        and item.channel == Channel.WEB
    )


def request_conversation(*, customer: Customer, root_id: int) -> RequestConversation | None:
    """The request's whole conversation as the customer may read it, oldest first: three
    queries whatever its length."""
    root = request_root(customer=customer, root_id=root_id)
    if root is None:
        return None
    items = list(
        Interaction.objects.filter(Q(pk=root.pk) | Q(thread_id=root.pk), customer=customer)
        .select_related("message")
        .order_by("occurred_at", "id")
    )
    entries = []
    waiting = open_ = 0
    for item in items:
        if item.direction == Direction.INBOUND and item.requires_response:
            open_ += item.resolved_at is None
            waiting += item.resolved_at is None and item.first_response_at is None
        if not _shown(item):
            continue
        message = getattr(item, "message", None)
        mine = item.direction == Direction.INBOUND
        text = (message.text or message.text_full) if message is not None else ""
        if mine:
            author = "You"
        else:
            name = message.from_name if message is not None else ""
            author = f"{name} (our team)" if name else "Our team"
        entries.append(
            Entry(
                pk=item.pk, mine=mine, author=author, at=item.occurred_at, text=text or item.notes
            )
        )
    return RequestConversation(root=root, status=_status(waiting, open_), entries=entries)


# --- The reply ---------------------------------------------------------------------------


def reply_text_clean(text: str) -> str:
    """Plain text with line breaks: tags go (a <script> with its content), entities are read
    back to characters; the page escapes on the way out, mail carries it as text."""
    cleaned = nh3.clean(
        text[: REPLY_TEXT_MAX * 2], tags=set(), clean_content_tags={"script", "style"}
    )
    cleaned = html.unescape(cleaned).replace("\r\n", "\n").replace("\x00", "")
    return re.sub(r"\n{3,}", "\n\n", cleaned).strip()


def reply_nonce() -> str:
    """A fresh token for one reply form: the reply's Message-ID is made of it, so the same
    form sent twice (a double click, a retry) is stored once."""
    return secrets.token_hex(16)


def _thread_messages(root: Interaction):
    return Message.objects.filter(Q(interaction_id=root.pk) | Q(interaction__thread_id=root.pk))


def _sender(customer: Customer, latest_inbound: Message | None) -> str:
    """The customer's address the reply comes from: the one they last wrote from in this
    thread when it is still theirs, else their address on file."""
    theirs = customer_emails(customer)  # normalised, the main one first
    if latest_inbound is not None and latest_inbound.from_address.lower() in theirs:
        return latest_inbound.from_address
    return theirs[0] if theirs else ""


def reply_raw(
    *, customer: Customer, root: Interaction, text: str, nonce: str
) -> tuple[bytes, Mailbox | None]:
    """The e-mail a portal reply stands for, as a mail client would have sent it: to the
    thread's signed address, answering the thread's latest message."""
    messages = _thread_messages(root).select_related("mailbox")
    latest_inbound = (
        messages.filter(direction=Direction.INBOUND, kind=MessageKind.REGULAR)
        .order_by("-created_at", "-id")
        .first()
    )
    latest = messages.order_by("-created_at", "-id").first()
    mailbox = (
        latest_inbound.mailbox
        if latest_inbound is not None and latest_inbound.mailbox
        else mailbox_default()
    )
    to = thread_address(mailbox.address if mailbox else settings.DEFAULT_FROM_EMAIL, root.pk)
    email = EmailMessage()
    sender = _sender(customer, latest_inbound)
    if sender:
        try:
            email["From"] = str(Address(display_name=one_line(customer.name), addr_spec=sender))
        except (ValueError, IndexError):
            email["From"] = sender
    email["To"] = to
    subject = (
        latest.subject if latest is not None and latest.subject else root.subject
    ) or "(no subject)"
    email["Subject"] = subject_tagged(reply_subject(subject), root.pk)
    email["Message-ID"] = f"<portal.{customer.pk}.{nonce}@{mail_domain()}>"
    email["Date"] = format_datetime(timezone.now())
    if latest is not None and not latest.message_id.startswith("sha256:"):
        refs = [one for one in latest.references.split() if not one.startswith("sha256:")]
        email["In-Reply-To"] = f"<{latest.message_id}>"
        email["References"] = " ".join(f"<{one}>" for one in [*refs[-18:], latest.message_id])
    email.set_content(text)
    return email.as_bytes(), mailbox


def portal_request_reply(
    *, customer: Customer, root: Interaction, text: str, nonce: str
) -> Interaction:
    """The customer's reply to one of their requests, through the mail channel's receive
    path (module docstring). Returns the inbound interaction it was logged as."""
    if root.customer_id != customer.pk or root.thread_id is not None:
        raise ValidationError({"request": "This request is not yours."})
    if not isinstance(nonce, str) or not NONCE.match(nonce):
        raise ValidationError({"nonce": "This form is out of date: reload the page."})
    if not isinstance(text, str) or len(text) > REPLY_TEXT_MAX:
        raise ValidationError({"text": f"At most {REPLY_TEXT_MAX:,} characters."})
    cleaned = reply_text_clean(text)
    if not cleaned:
        raise ValidationError({"text": "Write your message."})
    raw, mailbox = reply_raw(customer=customer, root=root, text=cleaned, nonce=nonce)
    try:
        received = mail_receive(raw, via=Via.PORTAL, mailbox=mailbox)
    except MessageTooLarge:
        raise ValidationError({"text": "The message is too long."}) from None
    interaction = received.interaction
    if interaction is None or (interaction.thread_id or interaction.pk) != root.pk:
        # Its Message-ID was used on another request (a form sent from two tabs).
        raise ValidationError({"nonce": "This form was sent already: reload the page."})
    if received.message.via != Via.PORTAL:
        raise ValidationError({"nonce": "This form is out of date: reload the page."})
    return interaction
