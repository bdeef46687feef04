"""Writes on interactions. Logging an interaction is the start of the learning loop (SPEC §4)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import bounds
from core.errors import errors_under
from customers.facts import FactInput, customer_fact_record
from customers.models import Customer
from customers.services import ERASED
from events.names import EventName
from events.services import event_publish
from offerings.models import Offering

from .choices import Direction, InteractionType, OfferOutcome
from .models import ChannelCost, Interaction, OfferingRating, OrderLine, ServiceLevelTarget

NEEDS_RESPONSE_BY_DEFAULT = {InteractionType.INQUIRY, InteractionType.COMPLAINT}


def channel_cost(channel: str) -> Decimal:
    """Cost to serve one contact on this channel, as the admin set it (0 if not set)."""
    cost = (
        ChannelCost.objects.filter(channel=channel)
        .values_list("cost_per_interaction", flat=True)
        .first()
    )
    return cost if cost is not None else Decimal("0")


@dataclass(frozen=True)
class OrderLineInput:
    offering_id: int
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    discount: Decimal = Decimal("0")


# Interaction fields interaction_log receives as model instances (they exist: they were read).
RELATED_GIVEN = ["customer", "logged_by", "thread", "offer", "assignee"]
NO_SUCH_THREAD = "No such thread for this customer."


def interaction_thread_check(*, customer: Customer, thread: Interaction | None) -> None:
    """A thread continues an item of the same customer. A thread of another customer reads
    exactly like one that does not exist, so that no caller learns of records they cannot see."""
    if thread is not None and thread.customer_id != customer.pk:
        raise ValidationError({"thread": NO_SUCH_THREAD})


def interaction_lines_check(*, type: str, offering_ids: set[int]) -> None:
    """Only orders have lines; each line's offering exists and may still be ordered."""
    if not offering_ids:
        return
    if type != InteractionType.ORDER:
        raise ValidationError({"lines": "Only order interactions have lines."})
    _check_orderable(offering_ids)


def _check_orderable(offering_ids: set[int]) -> None:
    """Every offering exists and is not archived; one query for all the lines."""
    archived = dict(Offering.objects.filter(pk__in=offering_ids).values_list("pk", "archived_at"))
    if offering_ids - archived.keys():
        raise ValidationError({"offering": "No such offering."})
    if any(at is not None for at in archived.values()):
        # Archived offerings stay on history but cannot be ordered anew.
        raise ValidationError({"lines": "An archived offering cannot be ordered."})


@transaction.atomic
def interaction_log(
    *,
    customer: Customer,
    logged_by,
    channel: str,
    direction: str,
    type: str,
    subject: str,
    notes: str = "",
    occurred_at: datetime | None = None,
    requires_response: bool | None = None,
    thread: Interaction | None = None,
    satisfaction: int | None = None,
    next_step: str = "",
    next_step_due: date | None = None,
    lines: Iterable[OrderLineInput] = (),
    facts: Iterable[FactInput] = (),
    offer: Offering | None = None,
    offer_outcome: str = "",
    assignee=None,
) -> Interaction:
    """Record an interaction with its order lines, and queue the customer's recompute.

    Everything is written in one transaction; the recompute is sent only after it commits.
    """
    lines = list(lines)
    interaction_thread_check(customer=customer, thread=thread)
    interaction_lines_check(type=type, offering_ids={line.offering_id for line in lines})
    if requires_response is None:
        requires_response = direction == Direction.INBOUND and type in NEEDS_RESPONSE_BY_DEFAULT
    interaction = Interaction(
        customer=customer,
        logged_by=logged_by,
        channel=channel,
        direction=direction,
        type=type,
        subject=subject,
        notes=notes,
        occurred_at=occurred_at or timezone.now(),
        requires_response=requires_response,
        thread=thread,
        satisfaction=satisfaction,
        next_step=next_step,
        next_step_due=next_step_due,
        offer=offer,
        offer_outcome=offer_outcome or "",
        assignee=assignee,
    )
    # The related rows arrive as loaded instances, and the check constraints repeat the field
    # validators and clean(): validating them again would cost a query each (SPEC §8 ingest).
    # Everything is validated before the first write (core.bounds: dates and amounts).
    interaction.full_clean(exclude=RELATED_GIVEN, validate_constraints=False)
    order_lines = [
        OrderLine(
            offering_id=line.offering_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
            unit_cost=line.unit_cost,
            discount=line.discount,
        )
        for line in lines
    ]
    for index, line in enumerate(order_lines):
        with errors_under(f"lines[{index}]"):
            line.full_clean(exclude=["interaction", "offering"], validate_constraints=False)
    interaction.save()
    for line in order_lines:
        line.interaction = interaction
    OrderLine.objects.bulk_create(order_lines)
    event_publish(
        EventName.INTERACTION_LOGGED,
        customer_id=customer.pk,
        payload={
            "interaction_id": interaction.pk,
            "type": type,
            "channel": channel,
            "direction": direction,
        },
        subject={"interaction": interaction, "lines": order_lines},
    )
    if direction == Direction.OUTBOUND and thread is not None:
        _thread_answer(root_id=thread.thread_id or thread.pk, at=interaction.occurred_at)
    # What the customer taught us in this interaction, in the same transaction.
    for index, fact in enumerate(facts):
        with errors_under(f"facts[{index}]"):
            customer_fact_record(
                customer=customer,
                key=fact.key,
                value=fact.value,
                need_status=fact.need_status,
                recorded_by=logged_by,
                source_interaction=interaction,
                source=fact.source,
            )
    return interaction


def _thread_answer(*, root_id: int, at: datetime) -> None:
    """An answer in a conversation, on any channel (a reply by email, a call back logged in
    the thread), is the first response to every message of the customer in it still waiting
    from before it. Support answers in the conversation, never by stamping a time alone."""
    waiting = Interaction.objects.filter(
        Q(pk=root_id) | Q(thread_id=root_id),
        direction=Direction.INBOUND,
        requires_response=True,
        first_response_at__isnull=True,
        occurred_at__lte=at,
    )
    answered = list(waiting.values_list("pk", "customer_id"))
    waiting.update(first_response_at=at)
    for pk, customer_id in answered:
        event_publish(
            EventName.INTERACTION_CHANGED,
            customer_id=customer_id,
            payload={"interaction_id": pk, "changed": ["first_response_at"]},
        )


def _changed(interaction: Interaction, *fields: str) -> None:
    event_publish(
        EventName.INTERACTION_CHANGED,
        customer_id=interaction.customer_id,
        payload={"interaction_id": interaction.pk, "changed": list(fields)},
    )


def _check_time(interaction: Interaction, field: str, at: datetime) -> None:
    if at < interaction.occurred_at:
        raise ValidationError({field: "This cannot be before the interaction itself."})
    if at > bounds.latest_happened_at():
        raise ValidationError({field: "This cannot be in the future."})


@transaction.atomic
def interaction_respond(*, interaction: Interaction, at: datetime | None = None) -> bool:
    """Record the first response. Idempotent and race-safe: the first writer wins.

    Returns whether this call recorded it. Response speed feeds the experience score, so the
    customer's recompute is queued after the commit.
    """
    at = at or timezone.now()
    _check_time(interaction, "first_response_at", at)
    recorded = Interaction.objects.filter(pk=interaction.pk, first_response_at__isnull=True).update(
        first_response_at=at
    )
    if recorded:
        _changed(interaction, "first_response_at")
    interaction.refresh_from_db(fields=["first_response_at", "resolved_at"])
    return bool(recorded)


@transaction.atomic
def interaction_resolve(*, interaction: Interaction, at: datetime | None = None) -> bool:
    """Record the resolution (and the first response, if none was recorded). Idempotent and
    race-safe like `interaction_respond`; returns whether this call resolved it."""
    at = at or timezone.now()
    _check_time(interaction, "resolved_at", at)
    resolved = Interaction.objects.filter(pk=interaction.pk, resolved_at__isnull=True).update(
        resolved_at=at, first_response_at=Coalesce(F("first_response_at"), Value(at))
    )
    if resolved:
        _changed(interaction, "resolved_at", "first_response_at")
    interaction.refresh_from_db(fields=["first_response_at", "resolved_at"])
    return bool(resolved)


@transaction.atomic
def interaction_record_satisfaction(*, interaction: Interaction, satisfaction: int) -> None:
    """Record how satisfied the customer was (1-5); it feeds the experience score."""
    if not 1 <= satisfaction <= 5:
        raise ValidationError({"satisfaction": "Satisfaction is a whole number from 1 to 5."})
    interaction.satisfaction = satisfaction
    Interaction.objects.filter(pk=interaction.pk).update(satisfaction=satisfaction)
    _changed(interaction, "satisfaction")


@transaction.atomic
def interaction_assign(*, interaction: Interaction, assignee) -> bool:
    """Give an item to someone in the support queue (or to nobody); returns whether it moved."""
    items = Interaction.objects.filter(pk=interaction.pk)
    if assignee is None:
        items = items.filter(assignee__isnull=False)
    else:
        items = items.exclude(assignee=assignee)
    moved = items.update(assignee=assignee)
    interaction.assignee = assignee
    if moved:
        _changed(interaction, "assignee")
    return bool(moved)


@transaction.atomic
def interaction_offer_answer(*, interaction: Interaction, outcome: str) -> Interaction:
    """Record how the customer answered an offer (an *offer* interaction). The workspace's
    next best offerings read the outcome: a declined offering is not offered again for 90
    days, and every answer updates the offering's acceptance rate."""
    if interaction.offer_id is None:
        raise ValidationError({"offer": "This interaction made no offer."})
    if outcome not in OfferOutcome.values:
        raise ValidationError({"offer_outcome": f"Choose one of {', '.join(OfferOutcome.values)}."})
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    interaction.offer_outcome = outcome
    interaction.full_clean()
    interaction.save(update_fields=["offer_outcome"])
    event_publish(
        EventName.OFFER_ANSWERED,
        customer_id=interaction.customer_id,
        payload={
            "interaction_id": interaction.pk,
            "offering_id": interaction.offer_id,
            "outcome": outcome,
        },
    )
    return interaction


@transaction.atomic
def offering_rating_record(
    *,
    customer: Customer,
    offering: Offering,
    rating: int,
    recorded_by,
    interaction: Interaction | None = None,
    rated_at: datetime | None = None,
) -> OfferingRating:
    """Record the customer's rating of an offering they hold; a new rating replaces the old.

    Only offerings the customer ordered can be rated. The rating feeds the experience score,
    so the customer's recompute is queued after the commit.
    """
    if not OrderLine.objects.filter(interaction__customer=customer, offering=offering).exists():
        raise ValidationError({"offering": "The customer has not ordered this offering."})
    if interaction is not None and interaction.customer_id != customer.pk:
        raise ValidationError({"interaction": "The interaction belongs to another customer."})
    values = {
        "rating": rating,
        "rated_at": rated_at or timezone.now(),
        "recorded_by": recorded_by,
        "interaction": interaction,
    }
    candidate = OfferingRating(customer=customer, offering=offering, **values)
    candidate.full_clean(validate_unique=False, validate_constraints=False)
    # One current rating per customer and offering; concurrent writers cannot duplicate it.
    rating_row, _ = OfferingRating.objects.update_or_create(
        customer=customer, offering=offering, defaults=values
    )
    event_publish(
        EventName.RATING_RECORDED,
        customer_id=customer.pk,
        payload={"rating_id": rating_row.pk, "offering_id": offering.pk, "rating": rating},
    )
    return rating_row


def interactions_personal_text_erase(*, customer_id: int) -> int:
    """Erase what was said in a customer's interactions (SPEC §7: erasure), in the erasure's
    transaction (interactions.handlers). Orders and lines stay, without identity."""
    return Interaction.objects.filter(customer_id=customer_id).update(
        subject=ERASED, notes="", next_step=""
    )


def interactions_bulk_log(
    *, interactions: list[Interaction], lines: list[OrderLine], batch_size: int | None = None
) -> list[Interaction]:
    """Insert interactions and their order lines in bulk, for imports: one INSERT of
    interactions and one of lines per `batch_size` rows, and nothing else.

    Each line's `interaction` is one of `interactions` (still unsaved); the same instances come
    back with their keys. The caller has validated every row (the model's validators, as
    `full_clean` less what needs a query: dataio.imports.field_error) and rebuilds the figures
    in one pass afterwards, so this publishes no per-row event and folds no summary. Checked
    here, as it costs no query: the interactions are new and only orders have lines. Archived
    offerings are not refused: an import records purchases that happened."""
    given = {id(interaction) for interaction in interactions}
    if any(interaction.pk is not None for interaction in interactions):
        raise ValueError("interactions_bulk_log() writes new interactions only.")
    for line in lines:
        interaction = line.interaction
        if id(interaction) not in given:
            raise ValueError("interactions_bulk_log(): a line is not on one of the interactions.")
        if interaction.type != InteractionType.ORDER:
            raise ValidationError({"lines": "Only order interactions have lines."})
    created = Interaction.objects.bulk_create(interactions, batch_size=batch_size)
    OrderLine.objects.bulk_create(lines, batch_size=batch_size)
    return created


# --- Channel costs and service-level targets (admins: the Django admin and the API) ----------
# Saved as the admin saves them, with nothing recomputed: a channel's cost is folded into a
# customer's cost to serve when a contact is logged (valuation.handlers), so a new cost
# applies to contacts from then on, and the history is re-priced only by the rebuild of the
# summaries (valuation_rebuild_everything, `manage.py recompute_customers`); a target is
# applied in SQL when the queue is read (selectors.with_service_level), so it takes effect at
# once.


def _config_save(instance, data: dict, allowed: tuple[str, ...]):
    unknown = set(data) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    for field, value in data.items():
        setattr(instance, field, value)
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def channel_cost_create(*, channel: str, cost_per_interaction: Decimal) -> ChannelCost:
    return _config_save(
        ChannelCost(),
        {"channel": channel, "cost_per_interaction": cost_per_interaction},
        ("channel", "cost_per_interaction"),
    )


@transaction.atomic
def channel_cost_update(*, channel_cost: ChannelCost, data: dict) -> ChannelCost:
    return _config_save(channel_cost, data, ("channel", "cost_per_interaction"))


@transaction.atomic
def channel_cost_delete(*, channel_cost: ChannelCost) -> None:
    """The channel then costs nothing (selectors.channel_costs)."""
    channel_cost.delete()


SERVICE_LEVEL_FIELDS = ("type", "channel", "first_response_hours")


@transaction.atomic
def service_level_target_create(
    *, type: str, first_response_hours: int, channel: str = ""
) -> ServiceLevelTarget:
    return _config_save(
        ServiceLevelTarget(),
        {"type": type, "channel": channel, "first_response_hours": first_response_hours},
        SERVICE_LEVEL_FIELDS,
    )


@transaction.atomic
def service_level_target_update(*, target: ServiceLevelTarget, data: dict) -> ServiceLevelTarget:
    return _config_save(target, data, SERVICE_LEVEL_FIELDS)


@transaction.atomic
def service_level_target_delete(*, target: ServiceLevelTarget) -> None:
    """Items of that type and channel then fall back to the "any channel" target, if any."""
    target.delete()
