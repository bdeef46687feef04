"""Reads of the email channel: a conversation, and what the reply box needs to know."""

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from customers.models import Customer, email_normalise
from customers.selectors import customer_emails, customers_visible_to
from interactions.models import Interaction, OrderLine

from .models import Attachment, BouncingAddress, CannedReply, Message


@dataclass
class Conversation:
    root: Interaction
    customer: Customer
    # The root and every interaction of its thread, oldest first, each with `message` (or
    # none), its attachments (`message.attachments.all`) and order lines (`lines.all`).
    items: list[Interaction]


def interactions_visible_to(user) -> QuerySet[Interaction]:
    return Interaction.objects.filter(customer__in=customers_visible_to(user).values("pk"))


def conversation_root_id(*, interaction_id: int, user) -> int | None:
    """The root of the conversation an interaction the user may see belongs to."""
    found = (
        interactions_visible_to(user).filter(pk=interaction_id).values_list("pk", "thread_id")
    ).first()
    if found is None:
        return None
    pk, thread_id = found
    return thread_id or pk


def conversation_get(*, root_id: int, user) -> Conversation | None:
    """The conversation whose root is `root_id`, if the user may see its customer (None reads
    exactly like a conversation that does not exist). Five queries whatever its length."""
    root = (
        interactions_visible_to(user)
        .filter(pk=root_id, thread__isnull=True)
        .select_related("customer__figures")
        .first()
    )
    if root is None:
        return None
    items = list(
        Interaction.objects.filter(Q(pk=root.pk) | Q(thread_id=root.pk))
        .select_related("logged_by", "offer", "message__sent_by", "message__mailbox")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("offering")),
            Prefetch("message__attachments", queryset=Attachment.objects.order_by("id")),
        )
        .order_by("occurred_at", "id")
    )
    customer = root.customer
    for item in items:
        item.customer = customer  # the same customer throughout: no query per item
    return Conversation(root=root, customer=customer, items=items)


def message_visible(*, message_id: int, user) -> Message | None:
    return (
        Message.objects.filter(
            pk=message_id,
            interaction__customer__in=customers_visible_to(user).values("pk"),
        )
        .select_related("interaction__customer")
        .first()
    )


def attachment_visible(*, attachment_id: int, user) -> Attachment | None:
    return (
        Attachment.objects.filter(
            pk=attachment_id,
            message__interaction__customer__in=customers_visible_to(user).values("pk"),
        )
        .select_related("message")
        .first()
    )


def addresses_bouncing(addresses) -> set[str]:
    wanted = {email_normalise(address) for address in addresses if address}
    if not wanted:
        return set()
    return set(BouncingAddress.objects.filter(address__in=wanted).values_list("address", flat=True))


def canned_replies() -> QuerySet[CannedReply]:
    return CannedReply.objects.filter(active=True).order_by("title")


def customer_addresses(customer: Customer) -> set[str]:
    return set(customer_emails(customer))
