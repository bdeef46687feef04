"""Writes on interactions. Logging an interaction is the start of the learning loop (SPEC §4)."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import BooleanField, Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffAvailability
from accounts.services import staff_assigned_mark
from core import bounds
from core.bulk import insert_select, update_from_values
from core.errors import errors_under
from core.records import record_save, related_known
from core.statements import row_insert, rows_insert
from customers.facts import FactInput, customer_fact_record
from customers.models import Customer
from customers.services import ERASED
from events.names import EventName
from events.services import event_publish
from offerings.models import Offering
from offerings.selectors import offerings_with_figures

from . import business_hours
from .assignment import assignee_choose, assignment_mode
from .choices import Direction, InteractionType, OfferOutcome
from .due_times import Policies, due_times_set
from .models import (
    BusinessCalendar,
    ChannelCost,
    CustomerServiceTier,
    Interaction,
    Notice,
    OfferingRating,
    OrderLine,
    ServiceLevelTarget,
    SupportSettings,
)

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
NO_SUCH_OFFERING = "No such offering."
ARCHIVED_OFFERING = "An archived offering cannot be ordered."
ONLY_ORDERS_HAVE_LINES = "Only order interactions have lines."


def interaction_thread_check(*, customer: Customer, thread: Interaction | None) -> None:
    """A thread continues an item of the same customer. A thread of another customer reads
    exactly like one that does not exist, so that no caller learns of records they cannot see."""
    if thread is not None and thread.customer_id != customer.pk:
        raise ValidationError({"thread": NO_SUCH_THREAD})


def interaction_lines_check(*, type: str, offering_ids: list[int]) -> None:
    """Only orders have lines; each line's offering exists and may still be ordered (one
    query for all the lines; `offering_ids` in line order, for errors named by line)."""
    if not offering_ids:
        return
    archived = {}
    if type == InteractionType.ORDER:
        archived = dict(
            Offering.objects.filter(pk__in=set(offering_ids)).values_list("pk", "archived_at")
        )
    errors = lines_errors(type=type, offering_ids=offering_ids, archived=archived)
    if errors:
        raise ValidationError(errors)


def lines_errors(
    *, type: str, offering_ids: list[int], archived: Mapping[int, datetime | None]
) -> dict[str, list[str]]:
    """The rules of an interaction's lines against its offerings (`archived`: each existing
    offering's archived_at), by path: every way in (one interaction, a batch) says the same."""
    if offering_ids and type != InteractionType.ORDER:
        return {"lines": [ONLY_ORDERS_HAVE_LINES]}
    errors: dict[str, list[str]] = {}
    for index, offering_id in enumerate(offering_ids):
        if offering_id not in archived:
            errors[f"lines[{index}].offering"] = [NO_SUCH_OFFERING]
        elif archived[offering_id] is not None:
            # Archived offerings stay on history but cannot be ordered anew.
            errors[f"lines[{index}].offering"] = [ARCHIVED_OFFERING]
    return errors


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
    source: str = "",
    source_id: str = "",
) -> Interaction:
    """Record an interaction with its order lines, and queue the customer's recompute.

    Everything is written in one transaction; the recompute is sent only after it commits.
    """
    lines = list(lines)
    interaction_thread_check(customer=customer, thread=thread)
    interaction_lines_check(type=type, offering_ids=[line.offering_id for line in lines])
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
        source=source,
        source_id=source_id,
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
    due_times_set([interaction])
    # The INSERTs compiled once per process (core.statements): this runs on every POST.
    row_insert(interaction)
    if direction == Direction.INBOUND and thread is not None:
        _threads_resume(thread_ids=[thread.thread_id or thread.pk], at=interaction.occurred_at)
    for line in order_lines:
        line.interaction = interaction
    if len(order_lines) == 1:  # most orders
        row_insert(order_lines[0])
    else:
        OrderLine.objects.bulk_create(order_lines)
    related_known(interaction, "lines", order_lines)  # a reply built from it reads no more
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
        _threads_answer(answers={thread.thread_id or thread.pk: interaction.occurred_at})
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


def _threads_answer(*, answers: Mapping[int, datetime]) -> None:
    """An answer in a conversation, on any channel (a reply by email, a call back logged in
    the thread), is the first response to every message of the customer in it still waiting
    from before it. Support answers in the conversation, never by stamping a time alone.

    `answers`: each thread's root and the time of its (latest) answer there.
    """
    for root_id, at in sorted(answers.items()):
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
        resolved_at=at,
        first_response_at=Coalesce(F("first_response_at"), Value(at)),
        # In time against its resolution due time (None: no resolution target).
        resolved_in_time=Case(
            When(resolution_due_at__isnull=True, then=Value(None)),
            When(resolution_due_at__gte=Value(at), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )
    if resolved:
        _changed(interaction, "resolved_at", "first_response_at")
    interaction.refresh_from_db(fields=["first_response_at", "resolved_at", "resolved_in_time"])
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
def interaction_offer_order(
    *, interaction: Interaction, by, quantity: Decimal = Decimal("1")
) -> Interaction:
    """The customer accepted the offer and orders it, in one step: the offer answered
    "accepted" and an order of the offering logged with one line at its list price and
    cost, on the offer's channel (so the figures, the holdings and the next best offerings
    see it at once). Returns the order."""
    offering_id = interaction.offer_id
    if offering_id is None:
        raise ValidationError({"offer": "This interaction made no offer."})
    offer = interaction_offer_answer(interaction=interaction, outcome=OfferOutcome.ACCEPTED)
    offering = offerings_with_figures().filter(pk=offering_id).first()
    if offering is None:
        raise ValidationError({"offer": NO_SUCH_OFFERING})
    return interaction_log(
        customer=offer.customer,
        logged_by=by,
        channel=offer.channel,
        direction=Direction.INBOUND,
        type=InteractionType.ORDER,
        subject=f"Order of {offering.name}"[:200],
        lines=[
            OrderLineInput(
                offering_id=offering.pk,
                quantity=quantity,
                unit_price=offering.price,
                unit_cost=offering.cost,
            )
        ],
    )


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


@transaction.atomic
def offering_rating_withdraw(
    *, customer: Customer, offering: Offering, recorded_by_nobody: bool = False
) -> bool:
    """The customer's rating of the offering no longer counts (the portal hides the review it
    came from): it goes, and the figures that read it are recomputed (rating.withdrawn).
    `recorded_by_nobody`: only a rating the customer gave themself (no staff member recorded
    it, no interaction holds it); one staff recorded later stays. Returns whether one went."""
    ratings = OfferingRating.objects.filter(customer=customer, offering=offering)
    if recorded_by_nobody:
        ratings = ratings.filter(recorded_by__isnull=True, interaction__isnull=True)
    withdrawn, _ = ratings.delete()
    if withdrawn:
        event_publish(
            EventName.RATING_WITHDRAWN,
            customer_id=customer.pk,
            payload={"offering_id": offering.pk},
        )
    return bool(withdrawn)


def interactions_personal_text_erase(*, customer_id: int) -> int:
    """Erase what was said in a customer's interactions (SPEC §7: erasure), in the erasure's
    transaction (interactions.handlers). Orders and lines stay, without identity."""
    return Interaction.objects.filter(customer_id=customer_id).update(
        subject=ERASED, notes="", next_step=""
    )


def interactions_subjects_replace(*, subjects: Mapping[str, str]) -> int:
    """Erasure (SPEC §7) of an erased customer's words quoted on others' timelines (a vote
    for their idea names its title): each interaction whose subject is a key of `subjects`
    gets its value instead. One UPDATE per distinct subject; few (one erased customer's)."""
    return sum(
        Interaction.objects.filter(subject=old).update(subject=new)
        for old, new in subjects.items()
        if old != new
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
    due_times_set(interactions)  # one vectorised pass per calendar for the whole load
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


@transaction.atomic
def channel_cost_create(*, channel: str, cost_per_interaction: Decimal) -> ChannelCost:
    return record_save(
        ChannelCost(),
        {"channel": channel, "cost_per_interaction": cost_per_interaction},
        ("channel", "cost_per_interaction"),
    )


@transaction.atomic
def channel_cost_update(*, channel_cost: ChannelCost, data: dict) -> ChannelCost:
    return record_save(channel_cost, data, ("channel", "cost_per_interaction"))


@transaction.atomic
def channel_cost_delete(*, channel_cost: ChannelCost) -> None:
    """The channel then costs nothing (selectors.channel_costs)."""
    channel_cost.delete()


SERVICE_LEVEL_FIELDS = (
    "type",
    "channel",
    "tier",
    "first_response_hours",
    "next_reply_hours",
    "resolution_hours",
    "business_hours",
    "calendar",
)


@transaction.atomic
def service_level_target_create(
    *,
    type: str,
    first_response_hours: int,
    channel: str = "",
    tier: str = "",
    next_reply_hours: int | None = None,
    resolution_hours: int | None = None,
    business_hours: bool = False,
    calendar: BusinessCalendar | None = None,
) -> ServiceLevelTarget:
    target = record_save(
        ServiceLevelTarget(),
        {
            "type": type,
            "channel": channel,
            "tier": tier,
            "first_response_hours": first_response_hours,
            "next_reply_hours": next_reply_hours,
            "resolution_hours": resolution_hours,
            "business_hours": business_hours,
            "calendar": calendar,
        },
        SERVICE_LEVEL_FIELDS,
    )
    interactions_due_recompute(types=[type])
    return target


@transaction.atomic
def service_level_target_update(*, target: ServiceLevelTarget, data: dict) -> ServiceLevelTarget:
    before = target.type
    target = record_save(target, data, SERVICE_LEVEL_FIELDS)
    interactions_due_recompute(types=sorted({before, target.type}))
    return target


@transaction.atomic
def service_level_target_delete(*, target: ServiceLevelTarget) -> None:
    """Items of that type and channel then fall back to the "any channel" target, if any."""
    type_ = target.type
    target.delete()
    interactions_due_recompute(types=[type_])


# --- Business calendars and stored due times ---------------------------------------------------

CALENDAR_FIELDS = (
    "name",
    "time_zone",
    "weekly_hours",
    "holidays",
    "always_open",
    "is_default",
    "channel",
)


@transaction.atomic
def business_calendar_create(
    *,
    name: str,
    time_zone: str = "UTC",
    weekly_hours: dict | None = None,
    holidays: list | None = None,
    always_open: bool = False,
    is_default: bool = False,
    channel: str = "",
) -> BusinessCalendar:
    calendar = record_save(
        BusinessCalendar(),
        {
            "name": name,
            "time_zone": time_zone,
            "weekly_hours": weekly_hours or {},
            "holidays": holidays or [],
            "always_open": always_open,
            "is_default": is_default,
            "channel": channel,
        },
        CALENDAR_FIELDS,
    )
    interactions_due_recompute()  # a new default or channel calendar changes what applies
    return calendar


@transaction.atomic
def business_calendar_update(*, calendar: BusinessCalendar, data: dict) -> BusinessCalendar:
    calendar = record_save(calendar, data, CALENDAR_FIELDS)
    interactions_due_recompute()
    return calendar


@transaction.atomic
def business_calendar_delete(*, calendar: BusinessCalendar) -> None:
    """Refused while a policy names it (the policy would silently change its hours)."""
    if calendar.policies.exists():
        raise ValidationError("A service-level policy uses this calendar: change it first.")
    calendar.delete()
    interactions_due_recompute()


RECOMPUTE_CHUNK = 5000


def interactions_due_recompute(
    *,
    types: Iterable[str] | None = None,
    customer_ids: Iterable[int] | None = None,
    interaction_ids: Iterable[int] | None = None,
) -> int:
    """Recompute the stored due times of the interactions named (None: every one), after a
    policy, calendar or tier changed. In chunks of RECOMPUTE_CHUNK rows by id: one read, one
    vectorised pass per calendar and one UPDATE per chunk. Returns the rows rewritten.
    On a worker: tasks.interactions_due_recompute_task."""
    items = Interaction.objects.all()
    if types is not None:
        items = items.filter(type__in=list(types))
    if customer_ids is not None:
        items = items.filter(customer_id__in=list(customer_ids))
    if interaction_ids is not None:
        items = items.filter(pk__in=list(interaction_ids))
    items = items.only(
        "pk",
        "type",
        "channel",
        "direction",
        "requires_response",
        "thread_id",
        "customer_id",
        "occurred_at",
        "paused_seconds",
        "resolved_at",
    ).order_by("pk")
    policies = Policies.load()
    done, last = 0, 0
    while True:
        chunk = list(items.filter(pk__gt=last)[:RECOMPUTE_CHUNK])
        if not chunk:
            return done
        due_times_set(chunk, policies=policies)
        with connection.cursor() as cursor:
            update_from_values(
                cursor,
                Interaction,
                ["response_due_at", "resolution_due_at", "resolved_in_time"],
                chunk,
            )
        done += len(chunk)
        last = chunk[-1].pk


@transaction.atomic(savepoint=False)  # run inside the recompute's transaction: no savepoint
def customer_service_tiers_set(*, tiers: Mapping[int, str], changed: bool = False) -> list[int]:
    """Keep the copy of the customers' value tiers (valuation's handler of FIGURES_CHANGED);
    the due times of those whose tier changed are recomputed when a policy names a tier.
    `changed`: the caller knows these are changes (the event says so), so the copy is not
    read first. Returns the customers whose tier changed."""
    if not tiers:
        return []
    if changed:
        moved = list(tiers)
    else:
        copies = CustomerServiceTier.objects.all()
        if len(tiers) <= RECOMPUTE_CHUNK:  # a pass's customers; a rebuild's: read them all
            copies = copies.filter(customer_id__in=list(tiers))
        known = dict(copies.values_list("customer_id", "tier"))
        moved = [cid for cid, tier in tiers.items() if known.get(cid) != (tier or "")]
    if not moved:
        return []
    CustomerServiceTier.objects.bulk_create(
        [CustomerServiceTier(customer_id=cid, tier=tiers[cid] or "") for cid in moved],
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=["tier"],
    )
    if ServiceLevelTarget.objects.exclude(tier="").exists():
        interactions_due_recompute(customer_ids=moved)
    return moved


def _calendar_of(interaction: Interaction) -> business_hours.Calendar:
    """The calendar the item's policy counts on (the clock when none)."""
    policies = Policies.load()
    tier = ""
    if policies.tiered:
        tier = (
            CustomerServiceTier.objects.filter(customer_id=interaction.customer_id)
            .values_list("tier", flat=True)
            .first()
            or ""
        )
    policy = policies.policy(interaction.type, interaction.channel, tier)
    calendar = policies.calendar(policy, interaction.channel) if policy else None
    return calendar.calendar() if calendar is not None else business_hours.ALWAYS_OPEN


NOT_WAITING_ITEM = "Only an open inbound item that needs a response can wait on the customer."


@transaction.atomic
def interaction_wait_on_customer(*, interaction: Interaction, at: datetime | None = None) -> bool:
    """Stop the item's service-level clock until the customer writes again on its thread
    (any channel: interaction_log resumes it). False when it is already waiting."""
    at = at or timezone.now()
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if (
        interaction.direction != Direction.INBOUND
        or not interaction.requires_response
        or interaction.resolved_at is not None
    ):
        raise ValidationError({"interaction": NOT_WAITING_ITEM})
    if interaction.waiting_since is not None:
        return False
    _check_time(interaction, "waiting_since", at)
    interaction.waiting_since = max(at, interaction.occurred_at)
    interaction.save(update_fields=["waiting_since"])
    return True


PAUSE_FIELDS = ("waiting_since", "paused_seconds")


def _threads_resume(*, thread_ids: list[int], at: datetime) -> None:
    """The customer wrote on these threads: each waiting item resumes, its due times moved by
    the business time it waited (on its policy's calendar)."""
    waiting = list(
        Interaction.objects.select_for_update()
        .filter(Q(pk__in=thread_ids) | Q(thread_id__in=thread_ids), waiting_since__isnull=False)
        .order_by("pk")
    )
    for item in waiting:
        since = item.waiting_since
        assert since is not None
        paused = business_hours.business_between(
            _calendar_of(item),
            business_hours.to_epoch([since]),
            business_hours.to_epoch([max(at, since)]),
        )
        item.paused_seconds = min(
            (item.paused_seconds or 0) + int(paused[0]), bounds.SERVICE_TARGET_HOURS_MAX * 3600
        )
        item.waiting_since = None
        due_times_set([item])
        item.save(
            update_fields=[
                "waiting_since",
                "paused_seconds",
                "response_due_at",
                "resolution_due_at",
                "resolved_in_time",
            ]
        )


# --- Batches (POST /api/interactions/batch/) ---------------------------------------------------

BATCH_MAX_ITEMS = 1000
NO_SUCH_CUSTOMER = "No such customer."
NO_SUCH_USER = "No such active user."
SOURCE_ELSEWHERE = "This source reference is already recorded."
NOT_COMMITTED = "Not committed: another item of this all-or-nothing batch was refused."


@dataclass
class InteractionBatchItem:
    """One item of a batch, as POST /api/interactions/ takes it, with its references as ids."""

    customer_id: int
    channel: str
    direction: str
    type: str
    subject: str
    notes: str = ""
    occurred_at: datetime | None = None
    requires_response: bool | None = None
    thread_id: int | None = None
    satisfaction: int | None = None
    next_step: str = ""
    next_step_due: date | None = None
    lines: list[OrderLineInput] = dataclass_field(default_factory=list)
    facts: list[FactInput] = dataclass_field(default_factory=list)
    offer_id: int | None = None
    offer_outcome: str = ""
    assignee_id: int | None = None
    source: str = ""
    source_id: str = ""

    @property
    def source_ref(self) -> tuple[str, str] | None:
        return (self.source, self.source_id) if self.source and self.source_id else None


@dataclass
class InteractionBatchResult:
    id: int | None = None
    duplicate: bool = False
    errors: dict[str, list[str]] | None = None


@dataclass
class _Refs:
    """What a batch's items refer to, read with one query per kind for the whole batch."""

    customers: dict[int, Customer]
    threads: dict[int, Interaction]
    offerings: dict[int, Offering]
    assignees: dict[int, Any]
    sources: dict[tuple[str, str], tuple[int, int]]  # (source, id) -> (interaction, customer)


def _batch_refs(items: list[InteractionBatchItem], customers) -> _Refs:
    User = get_user_model()
    refs = [item.source_ref for item in items if item.source_ref]
    sources: dict[tuple[str, str], tuple[int, int]] = {}
    if refs:
        known = Interaction.objects.filter(
            source__in={s for s, _ in refs}, source_id__in={i for _, i in refs}
        ).values_list("source", "source_id", "pk", "customer_id")
        wanted = set(refs)
        sources = {(s, i): (pk, c) for s, i, pk, c in known if (s, i) in wanted}
    customer_ids = {item.customer_id for item in items} | {c for _, c in sources.values()}
    thread_ids = {item.thread_id for item in items if item.thread_id is not None}
    offering_ids = {line.offering_id for item in items for line in item.lines}
    offering_ids |= {item.offer_id for item in items if item.offer_id is not None}
    assignee_ids = {item.assignee_id for item in items if item.assignee_id is not None}
    return _Refs(
        customers=customers.in_bulk(customer_ids) if customer_ids else {},
        threads=Interaction.objects.in_bulk(thread_ids) if thread_ids else {},
        offerings=Offering.objects.in_bulk(offering_ids) if offering_ids else {},
        assignees=(
            User.objects.filter(is_active=True).in_bulk(assignee_ids) if assignee_ids else {}
        ),
        sources=sources,
    )


def _add(errors: dict[str, list[str]], error: ValidationError) -> None:
    for name, messages in error.message_dict.items():
        errors.setdefault(name, []).extend(messages)


def _batch_item_build(
    item: InteractionBatchItem, refs: _Refs, logged_by, line_checks: dict
) -> tuple[Interaction, list[OrderLine], dict[str, list[str]]]:
    """The unsaved interaction and lines of one item and its errors, found without a query:
    the rules of interaction_log (a thread of the same customer, lines only on orders that may
    be ordered, the model's validators and bounds) against the batch's references."""
    errors: dict[str, list[str]] = {}
    customer = refs.customers.get(item.customer_id)
    if customer is None:
        errors["customer"] = [NO_SUCH_CUSTOMER]
    thread = refs.threads.get(item.thread_id) if item.thread_id is not None else None
    if item.thread_id is not None and (thread is None or thread.customer_id != item.customer_id):
        errors["thread"] = [NO_SUCH_THREAD]  # another customer's reads like none at all
    errors.update(
        lines_errors(
            type=item.type,
            offering_ids=[line.offering_id for line in item.lines],
            archived={pk: offering.archived_at for pk, offering in refs.offerings.items()},
        )
    )
    offer = refs.offerings.get(item.offer_id) if item.offer_id is not None else None
    if item.offer_id is not None and offer is None:
        errors["offer.offering"] = [NO_SUCH_OFFERING]
    assignee = refs.assignees.get(item.assignee_id) if item.assignee_id is not None else None
    if item.assignee_id is not None and assignee is None:
        errors["assignee"] = [NO_SUCH_USER]
    requires_response = item.requires_response
    if requires_response is None:
        requires_response = (
            item.direction == Direction.INBOUND and item.type in NEEDS_RESPONSE_BY_DEFAULT
        )
    interaction = Interaction(
        customer_id=item.customer_id,
        logged_by=logged_by,
        channel=item.channel,
        direction=item.direction,
        type=item.type,
        subject=item.subject,
        notes=item.notes,
        occurred_at=item.occurred_at or timezone.now(),
        requires_response=requires_response,
        thread=thread,
        satisfaction=item.satisfaction,
        next_step=item.next_step,
        next_step_due=item.next_step_due,
        offer=offer,
        offer_outcome=item.offer_outcome or "",
        assignee=assignee,
        source=item.source,
        source_id=item.source_id,
    )
    try:
        interaction.full_clean(exclude=RELATED_GIVEN, validate_constraints=False)
    except ValidationError as error:
        _add(errors, error)
    lines = [
        OrderLine(
            interaction=interaction,
            offering_id=line.offering_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
            unit_cost=line.unit_cost,
            discount=line.discount,
        )
        for line in item.lines
    ]
    for index, order_line in enumerate(lines):
        try:
            with errors_under(f"lines[{index}]"):
                _line_check(order_line, line_checks)
        except ValidationError as error:
            _add(errors, error)
    return interaction, lines, errors


def _line_check(line: OrderLine, known: dict) -> None:
    """A line's full_clean, once per batch for each distinct set of values: the checks read
    only its four numbers (keyed exactly, as written: 2.0 and 2.00 differ in places)."""
    key = (str(line.quantity), str(line.unit_price), str(line.unit_cost), str(line.discount))
    if key not in known:
        try:
            line.full_clean(exclude=["interaction", "offering"], validate_constraints=False)
            known[key] = None
        except ValidationError as error:
            known[key] = error
    if known[key] is not None:
        raise known[key]


class _RollBack(Exception):
    """Leaves an all-or-nothing batch's savepoint when one of its items is refused."""


@transaction.atomic
def interactions_batch_log(
    *,
    items: list[InteractionBatchItem | dict[str, list[str]]],
    customers,
    logged_by,
    atomic: bool = False,
) -> list[InteractionBatchResult]:
    """Log a batch of interactions with a few statements per table, whatever its size.

    `items` in input order: each an InteractionBatchItem, or the errors its input already
    had (the API's serializer). `customers`: the customers the caller may log for
    (customers_visible_to), the others read as "No such customer.". Returns one result per
    item, in order: the new interaction's id, an existing one's (`duplicate`: its source
    reference was recorded before, or earlier in the batch), or its errors. Valid items are
    written, refused ones are not; with `atomic` one refused item writes nothing.

    Every item is checked by interaction_log's rules in Python against references read with
    one query per kind; the interactions and their lines are written with one INSERT each,
    and one `interactions.batch_logged` event tells valuation, which folds the summaries and
    marks the figures stale in bulk and sends one recompute per customer after the commit.
    Items that teach facts are logged one by one with interaction_log (a fact's rules read
    the customer's current facts), each in its own savepoint, after the bulk part.
    """
    given = [item for item in items if isinstance(item, InteractionBatchItem)]
    refs = _batch_refs(given, customers)
    results = [InteractionBatchResult() for _ in items]
    bulk: list[tuple[int, Interaction, list[OrderLine]]] = []
    one_by_one: list[tuple[int, InteractionBatchItem]] = []
    first_of_ref: dict[tuple[str, str], int] = {}  # a source reference -> its item's index
    duplicates: dict[int, int] = {}  # an item's index -> the index of the item it repeats
    line_checks: dict = {}  # a line's values -> its full_clean's error (None: valid)
    for index, item in enumerate(items):
        if not isinstance(item, InteractionBatchItem):
            results[index].errors = item
            continue
        ref = item.source_ref
        if ref is not None and ref in refs.sources:
            existing, customer_id = refs.sources[ref]
            if customer_id in refs.customers:
                results[index] = InteractionBatchResult(id=existing, duplicate=True)
            else:  # recorded for a customer the caller cannot see: say no more
                results[index].errors = {"source_id": [SOURCE_ELSEWHERE]}
            continue
        if ref is not None and ref in first_of_ref:
            duplicates[index] = first_of_ref[ref]
            continue
        interaction, lines, errors = _batch_item_build(item, refs, logged_by, line_checks)
        if errors:
            results[index].errors = errors
            continue
        if ref is not None:
            first_of_ref[ref] = index
        if item.facts:
            one_by_one.append((index, item))
        else:
            bulk.append((index, interaction, lines))
    refused = any(result.errors for result in results)
    if atomic and refused:
        return _not_committed(results)
    try:
        with transaction.atomic():
            _batch_write(bulk, one_by_one, refs, results, logged_by)
            if atomic and any(result.errors for result in results):
                raise _RollBack
    except _RollBack:
        return _not_committed(results)
    for index, first in duplicates.items():
        if results[first].id is not None:
            results[index] = InteractionBatchResult(id=results[first].id, duplicate=True)
        else:  # the first was refused: this one is refused alike
            results[index].errors = results[first].errors
    return results


def _not_committed(results: list[InteractionBatchResult]) -> list[InteractionBatchResult]:
    return [
        InteractionBatchResult(errors=result.errors or {"non_field_errors": [NOT_COMMITTED]})
        for result in results
    ]


def _batch_write(bulk, one_by_one, refs: _Refs, results, logged_by) -> None:
    interactions = [interaction for _, interaction, _ in bulk]
    lines = [line for _, _, item_lines in bulk for line in item_lines]
    if interactions:
        due_times_set(interactions)
        rows_insert(interactions)
        for line in lines:
            line.interaction_id = line.interaction.pk
        rows_insert(lines)
        for index, interaction, _ in bulk:
            results[index].id = interaction.pk
    customer_ids = sorted(
        {i.customer_id for i in interactions} | {item.customer_id for _, item in one_by_one}
    )
    if customer_ids:
        # One event for the batch: valuation folds it in bulk, locking every customer of the
        # batch in id order first (the one-by-one items below then take no new lock).
        event_publish(
            EventName.INTERACTIONS_BATCH_LOGGED,
            payload={
                "interaction_ids": [interaction.pk for interaction in interactions],
                "customer_ids": customer_ids,
            },
            subject={
                "interactions": interactions,
                "lines": {id(i): item_lines for _, i, item_lines in bulk},
            },
        )
    # Outbound items in a thread answer it, as one logged alone does (interaction_log);
    # after the batch's event, whose fold takes the batch's locks first.
    answers: dict[int, datetime] = {}
    for interaction in interactions:
        if interaction.direction == Direction.OUTBOUND and interaction.thread is not None:
            root = interaction.thread.thread_id or interaction.thread.pk
            answers[root] = max(answers.get(root, interaction.occurred_at), interaction.occurred_at)
    _threads_answer(answers=answers)
    # The customer's messages in a thread resume what waits there on them, as alone.
    resumes: dict[int, datetime] = {}
    for interaction in interactions:
        if interaction.direction == Direction.INBOUND and interaction.thread is not None:
            root = interaction.thread.thread_id or interaction.thread.pk
            resumes[root] = min(resumes.get(root, interaction.occurred_at), interaction.occurred_at)
    for root, at in sorted(resumes.items()):
        _threads_resume(thread_ids=[root], at=at)
    for index, item in sorted(one_by_one, key=lambda pair: pair[1].customer_id):
        try:
            with transaction.atomic():
                interaction = interaction_log(
                    customer=refs.customers[item.customer_id],
                    logged_by=logged_by,
                    channel=item.channel,
                    direction=item.direction,
                    type=item.type,
                    subject=item.subject,
                    notes=item.notes,
                    occurred_at=item.occurred_at,
                    requires_response=item.requires_response,
                    thread=refs.threads.get(item.thread_id) if item.thread_id else None,
                    satisfaction=item.satisfaction,
                    next_step=item.next_step,
                    next_step_due=item.next_step_due,
                    lines=item.lines,
                    facts=item.facts,
                    offer=refs.offerings.get(item.offer_id) if item.offer_id else None,
                    offer_outcome=item.offer_outcome,
                    assignee=refs.assignees.get(item.assignee_id) if item.assignee_id else None,
                    source=item.source,
                    source_id=item.source_id,
                )
        except ValidationError as error:
            results[index].errors = {}
            _add(results[index].errors, error)
        else:
            results[index].id = interaction.pk


RATING_MERGE_WHY = "one rating per customer and offering: the more recent is kept"


def interactions_customer_merge(*, survivor_id: int, duplicate_id: int) -> dict[str, dict]:
    """The duplicate's interactions (their order lines and threads with them) and ratings
    become the survivor's, in the merge's transaction (interactions.handlers). Where both
    rated an offering, the more recent rating stays (one per pair) and the other goes."""
    moved = Interaction.objects.filter(customer_id=duplicate_id).update(customer_id=survivor_id)
    ratings = OfferingRating.objects.filter(customer_id__in=[survivor_id, duplicate_id])
    latest: dict[int, OfferingRating] = {}
    older = []
    for rating in ratings.order_by("-rated_at", "-pk"):
        if rating.offering_id in latest:
            older.append(rating.pk)
        else:
            latest[rating.offering_id] = rating
    dropped, _ = OfferingRating.objects.filter(pk__in=older).delete()
    rated = OfferingRating.objects.filter(customer_id=duplicate_id).update(customer_id=survivor_id)
    return {
        "interactions.Interaction.customer": {"moved": moved},
        "interactions.OfferingRating.customer": {
            "moved": rated,
            "dropped": dropped,
            "why": RATING_MERGE_WHY,
        },
    }


# --- Automatic assignment of new support items (interactions.assignment) ----------------


@transaction.atomic
def support_assignment_set(*, mode: str, by) -> SupportSettings:
    """An admin chooses how new support items are assigned (the app's choice then wins over
    the setting SUPPORT_ASSIGNMENT). A mode that is not one of AssignmentMode: a
    ValidationError naming `assignment`."""
    values = {"assignment": mode, "changed_at": timezone.now(), "changed_by": by}
    # The one row is rewritten: not "unique" against itself.
    SupportSettings(**values).full_clean(exclude=["changed_by"], validate_unique=False)
    row, _ = SupportSettings.objects.update_or_create(pk=SupportSettings.SINGLETON, defaults=values)
    return row


def interaction_auto_assign(*, interaction: Interaction) -> int | None:
    """Give a newly logged item its assignee (interactions.assignment says who); returns who, or
    None when it stays as it is. Only items that wait for an answer and have nobody yet."""
    if (
        interaction.assignee_id is not None
        or not interaction.requires_response
        or interaction.direction != Direction.INBOUND
    ):
        return None
    mode = assignment_mode()
    if mode == "off":
        return None
    chosen = None
    if interaction.thread_id is not None:
        chosen = (
            Interaction.objects.filter(pk=interaction.thread_id)
            .values_list("assignee_id", flat=True)
            .first()
        )
    if chosen is None:
        chosen = assignee_choose(mode=mode)
    if chosen is None:
        return None
    Interaction.objects.filter(pk=interaction.pk, assignee__isnull=True).update(assignee_id=chosen)
    interaction.assignee_id = chosen
    staff_assigned_mark(user_id=chosen, at=timezone.now())
    _changed(interaction, "assignee")
    return chosen


# --- Orders of an import, set-based (dataio's COPY path) -------------------------------------


def orders_insert_selected(*, cursor, source: str, subject: str, now) -> int:
    """One inbound order and its one line per row of `source`, a staging table or view with
    (interaction_id, customer_id, channel, day, offering_id, amount, cost): the ids drawn by
    the caller from the interactions' sequence, every value checked by the caller with the
    models' validators first. Imports are silent (no event per order: import.finished tells
    of them, and the import's rebuild recomputes). How many orders."""
    created = insert_select(
        cursor,
        Interaction,
        {
            "id": ("p.interaction_id", []),
            "customer": ("p.customer_id", []),
            "channel": ("p.channel", []),
            "direction": ("%s", [Direction.INBOUND]),
            "type": ("%s", [InteractionType.ORDER]),
            "subject": ("%s", [subject]),
            "occurred_at": ("(p.day + time '12:00') AT TIME ZONE %s", [settings.TIME_ZONE]),
            "created_at": ("%s", [now]),
        },
        f"FROM {source} p",
    )
    insert_select(
        cursor,
        OrderLine,
        {
            "interaction": ("p.interaction_id", []),
            "offering": ("p.offering_id", []),
            "quantity": ("%s", [Decimal("1")]),
            "unit_price": ("p.amount", []),
            "unit_cost": ("p.cost", []),
        },
        f"FROM {source} p",
    )
    return created


# Open, its clock running: what an escalation is about. Two targets per item (the response
# while unanswered, the resolution while unresolved), each "due soon" then "overdue".
_ESCALATION_SQL = """
INSERT INTO {notice} (user_id, interaction_id, kind, created_at)
SELECT DISTINCT who.user_id, i.id,
       CASE WHEN t.due <= %(now)s THEN t.late ELSE t.near END,
       %(now)s
FROM {interaction} i
JOIN {customer} c ON c.id = i.customer_id
CROSS JOIN LATERAL (VALUES
    (CASE WHEN i.first_response_at IS NULL THEN i.response_due_at END,
     'near_breach', 'breached'),
    (i.resolution_due_at, 'resolution_near', 'resolution_breached')
) AS t(due, near, late)
CROSS JOIN LATERAL (VALUES (i.assignee_id), (c.owner_id)) AS who(user_id)
WHERE i.requires_response AND i.resolved_at IS NULL
  AND i.direction = 'inbound' AND i.waiting_since IS NULL
  AND t.due IS NOT NULL
  AND t.due - (t.due - i.occurred_at) * %(near)s <= %(now)s
  AND who.user_id IS NOT NULL
ON CONFLICT DO NOTHING
RETURNING id, user_id
"""


@transaction.atomic
def service_level_notices_write(*, now: datetime | None = None) -> dict[int, list[int]]:
    """Notices for the assignee and the customer's manager of every open item that is not
    waiting on the customer, for its response target (while unanswered) and its resolution
    target: "due soon" once less than ESCALATE_NEAR of the target (from the item to its due
    time) is left, "overdue" once past it. One INSERT ... SELECT (the open items' partial
    index), whatever the size of the queue; a notice is written once per person, item and
    kind (the unique constraint), so the task may run again at will. Returns the notices
    written, by person (the task e-mails each person theirs after the commit)."""
    now = now or timezone.now()
    service_level_reassign_away(now=now)  # first: the new assignee is notified in this run
    sql = _ESCALATION_SQL.format(
        notice=Notice._meta.db_table,
        interaction=Interaction._meta.db_table,
        customer=Customer._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "near": settings.ESCALATE_NEAR})
        written = cursor.fetchall()
    by_user: dict[int, list[int]] = defaultdict(list)
    for notice_id, user_id in written:
        by_user[user_id].append(notice_id)
    return {user_id: sorted(ids) for user_id, ids in sorted(by_user.items())}


def service_level_escalate(*, now: datetime | None = None) -> int:
    """`service_level_notices_write`, without the e-mails: how many notices were written."""
    return sum(len(ids) for ids in service_level_notices_write(now=now).values())


NOTICE_EMAIL_SUBJECT = "{count} service-level notice{s}: {summary}"


def _notice_line(notice: Notice) -> str:
    item = notice.interaction
    resolution = notice.kind in (Notice.Kind.RESOLUTION_NEAR, Notice.Kind.RESOLUTION_BREACHED)
    due = item.resolution_due_at if resolution else item.response_due_at
    when = timezone.localtime(due).strftime("%Y-%m-%d %H:%M") if due else "—"
    path = reverse("mail:conversation", args=[item.thread_id or item.pk])
    return (
        f"- {notice.get_kind_display()} (due {when}): {item.subject}\n"
        f"  {item.customer.name} · {item.get_type_display()} by {item.get_channel_display()}\n"
        f"  {settings.SITE_URL.rstrip('/')}{path}"
    )


@transaction.atomic
def notices_email_send(*, user_id: int, notice_ids: list[int]) -> int:
    """One e-mail to the person of the notices of one escalation run that are not sent yet
    (a retry sends none twice), through Django's e-mail backend; nothing for a person who
    turned notice e-mails off or has no address. Marks them sent; returns how many it listed."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return 0
    if StaffAvailability.objects.filter(user_id=user_id, notice_emails=False).exists():
        return 0  # opted out (no row: on, the default)
    notices = list(
        Notice.objects.select_for_update(of=("self",))
        .filter(pk__in=notice_ids, user_id=user_id, emailed_at__isnull=True)
        .select_related("interaction__customer")
        .order_by("kind", "interaction__response_due_at", "pk")
    )
    if not notices:
        return 0
    overdue = sum(
        n.kind in (Notice.Kind.BREACHED, Notice.Kind.RESOLUTION_BREACHED) for n in notices
    )
    summary = f"{overdue} overdue, {len(notices) - overdue} due soon"
    body = "\n\n".join(
        [
            f"Hello {user.first_name or user.username},",
            "These support items you answer or whose customer you manage need attention:",
            *(_notice_line(n) for n in notices),
            f"All your notices: {settings.SITE_URL.rstrip('/')}{reverse('notices:list')}\n"
            "You can turn these e-mails off on that page.",
        ]
    )
    send_mail(
        NOTICE_EMAIL_SUBJECT.format(
            count=len(notices), s="" if len(notices) == 1 else "s", summary=summary
        ),
        body,
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
    )
    Notice.objects.filter(pk__in=[n.pk for n in notices]).update(emailed_at=timezone.now())
    return len(notices)


# Overdue items moved per run, the most overdue first: the rest follow at the next run.
REASSIGN_PER_RUN = 200


@transaction.atomic
def service_level_reassign_away(*, now: datetime) -> int:
    """With automatic assignment on (SUPPORT_ASSIGNMENT), an overdue open item whose assignee
    is away goes to the least busy available support person (assignment.assignee_choose).
    One choice per item, so the counts move as items are given out: a loop over the few
    overdue items of people away (at most REASSIGN_PER_RUN), not over the queue. Returns the
    items moved."""
    if assignment_mode() == "off":
        return 0
    away = StaffAvailability.objects.filter(available=False).values("user_id")
    overdue = list(
        Interaction.objects.filter(
            direction=Direction.INBOUND,
            requires_response=True,
            first_response_at__isnull=True,
            resolved_at__isnull=True,
            waiting_since__isnull=True,
            response_due_at__lte=now,
            assignee_id__in=away,
        )
        .order_by("response_due_at", "pk")
        .only("pk", "customer_id", "assignee_id")[:REASSIGN_PER_RUN]
    )
    moved = 0
    for item in overdue:
        chosen = assignee_choose(mode="least_busy")
        if chosen is None:  # nobody available: they stay where they are
            break
        Interaction.objects.filter(pk=item.pk).update(assignee_id=chosen)
        item.assignee_id = chosen
        staff_assigned_mark(user_id=chosen, at=timezone.now())
        _changed(item, "assignee")
        moved += 1
    return moved


def notice_mark_read(*, notice: Notice, at: datetime | None = None) -> bool:
    """False when it was read already."""
    if notice.read_at is not None:
        return False
    notice.read_at = at or timezone.now()
    notice.save(update_fields=["read_at"])
    return True
