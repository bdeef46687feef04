"""New senders to check (SPEC §12): prospects created from a message or a web form by someone
we did not know. Support looks at each — a new prospect, or someone known under another
address — and marks it checked."""

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower, Substr

from customers.models import Customer
from customers.selectors import customers_to_triage, customers_visible_to
from interactions.models import Interaction

FIRST_MESSAGE_CHARS = 400
NAMESAKES_PER_SENDER = 3


def triage_list(*, user) -> QuerySet[Customer]:
    """The flagged customers the user sees, oldest first, each with their first message
    (`first_subject`, `first_notes` cut to FIRST_MESSAGE_CHARS, `first_channel`, `first_at`,
    and `first_root`, the root of its conversation): one query however many."""
    first = Interaction.objects.filter(customer=OuterRef("pk")).order_by("occurred_at", "id")
    return customers_to_triage(user).annotate(
        first_subject=Subquery(first.values("subject")[:1]),
        first_notes=Subquery(
            first.annotate(head=Substr("notes", 1, FIRST_MESSAGE_CHARS)).values("head")[:1]
        ),
        first_channel=Subquery(first.values("channel")[:1]),
        first_at=Subquery(first.values("occurred_at")[:1]),
        first_root=Subquery(first.annotate(root=Coalesce("thread_id", "pk")).values("root")[:1]),
    )


def triage_namesakes(*, user, senders: list[Customer]) -> dict[int, list[Customer]]:
    """Customers the user sees with the same name as a sender (case-blind), who may be the
    same person writing from another address: sender id → a few of them. One query."""
    by_name: dict[str, list[int]] = {}
    for sender in senders:
        by_name.setdefault(sender.name.lower(), []).append(sender.pk)
    if not by_name:
        return {}
    found: dict[int, list[Customer]] = {}
    namesakes = (
        customers_visible_to(user)
        .annotate(lname=Lower("name"))
        .filter(lname__in=[sender.name.lower() for sender in senders])
        .exclude(pk__in=[sender.pk for sender in senders])
        .order_by("created_at", "id")
    )
    for namesake in namesakes:
        for sender_id in by_name.get(namesake.name.lower(), []):
            kept = found.setdefault(sender_id, [])
            if len(kept) < NAMESAKES_PER_SENDER:
                kept.append(namesake)
    return found


def triage_count(*, user) -> int:
    """How many senders wait to be checked (the navigation's badge): one indexed count."""
    return customers_to_triage(user).count()
