from datetime import date, time
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from core import bounds

from . import business_hours
from .choices import (
    AssignmentMode,
    Channel,
    Direction,
    InteractionType,
    OfferOutcome,
    ServiceTier,
)


class Interaction(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="interactions"
    )
    channel = models.CharField(max_length=20, choices=Channel)
    direction = models.CharField(max_length=10, choices=Direction)
    type = models.CharField(max_length=20, choices=InteractionType)
    subject = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    occurred_at = models.DateTimeField(
        default=timezone.now, validators=[bounds.validate_happened_at]
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="logged_interactions",
    )
    thread = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
        help_text="The interaction this one continues.",
    )
    requires_response = models.BooleanField(default=False)
    first_response_at = models.DateTimeField(
        null=True, blank=True, validators=[bounds.validate_happened_at]
    )
    resolved_at = models.DateTimeField(
        null=True, blank=True, validators=[bounds.validate_happened_at]
    )
    satisfaction = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    next_step = models.CharField(max_length=200, blank=True)
    next_step_due = models.DateField(null=True, blank=True, validators=[bounds.validate_planned_on])
    offer = models.ForeignKey(
        "offerings.Offering",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offers_made",
        help_text="The offering proposed to the customer in this interaction, if any.",
    )
    offer_outcome = models.CharField(
        max_length=20,
        choices=OfferOutcome,
        blank=True,
        help_text="How the customer answered the offer; empty while it is not known.",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_interactions",
        help_text="Who answers this item from the support queue.",
    )
    # Where another system recorded this (a shop's order, a ticket): a re-sent event with the
    # same pair is recognised instead of logged twice (unique when both are set).
    source = models.CharField(
        max_length=50, blank=True, help_text="The other system this came from (e.g. shop)."
    )
    source_id = models.CharField(
        max_length=200, blank=True, help_text="Its identifier in that system; unique per source."
    )
    # Service levels (docs/service-levels.md), stored when the interaction is logged and
    # recomputed in bulk when a policy or calendar changes (services.interactions_due_recompute):
    # the queue orders by a column instead of computing business hours per row.
    response_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Whether it was resolved by its resolution due time (None: not resolved, or no target),
    # written with the resolution and kept with the due time by whatever rewrites it.
    resolved_in_time = models.BooleanField(null=True, blank=True, editable=False)
    # "Waiting on the customer": the clock stops from waiting_since until the customer's next
    # inbound interaction on the thread; the business seconds paused so far move both due times.
    waiting_since = models.DateTimeField(null=True, blank=True, editable=False)
    paused_seconds = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"]),
            models.Index(
                fields=["occurred_at"],
                name="interaction_open_idx",
                condition=Q(requires_response=True, resolved_at__isnull=True),
            ),
            # The support queue's order (selectors.support_queue): unanswered first, by due
            # time, over the open inbound items only; its first page reads 50 entries.
            models.Index(
                ExpressionWrapper(Q(first_response_at__isnull=False), output_field=BooleanField()),
                # Ascending, NULLs last: PostgreSQL's default, the queue's order (SQLite, the
                # embedded default, takes no NULLS LAST in an index).
                "response_due_at",
                "occurred_at",
                "id",
                name="interaction_queue_idx",
                condition=Q(requires_response=True, resolved_at__isnull=True, direction="inbound"),
            ),
            # A customer's next steps, for the next due action: a few rows, however long the
            # history (the recompute stores it for every customer it writes).
            models.Index(
                fields=["customer", "next_step_due"],
                name="interaction_next_step_idx",
                condition=Q(next_step_due__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id"],
                condition=~Q(source="") & ~Q(source_id=""),
                name="interaction_source_ref_unique",
            ),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__range=(1, 5)),
                name="interaction_satisfaction_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(offer_outcome="") | Q(offer__isnull=False),
                name="interaction_offer_outcome_needs_offer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.subject}"

    def clean(self) -> None:
        if self.offer_outcome and self.offer_id is None:
            raise ValidationError({"offer_outcome": "An outcome needs the offer it answers."})
        if self.first_response_at and self.first_response_at < self.occurred_at:
            raise ValidationError(
                {"first_response_at": "The first response cannot come before the interaction."}
            )
        if self.resolved_at and self.resolved_at < self.occurred_at:
            raise ValidationError(
                {"resolved_at": "The resolution cannot come before the interaction."}
            )


class OrderLine(models.Model):
    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="lines")
    offering = models.ForeignKey(
        "offerings.Offering", on_delete=models.PROTECT, related_name="order_lines"
    )
    quantity = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), bounds.validate_quantity],
    )
    unit_price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0), bounds.validate_unit_amount],
    )
    discount = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="A fraction between 0 and 1 (0.15 = 15 % off).",
    )
    unit_cost = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0), bounds.validate_unit_amount],
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(discount__gte=0) & Q(discount__lte=1), name="orderline_discount_0_to_1"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0) & Q(unit_cost__gte=0),
                name="orderline_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.offering}"

    def clean(self) -> None:
        # quantity × unit amount must fit what the running summary adds up (core.bounds).
        bounds.validate_line_amounts(
            quantity=self.quantity, unit_price=self.unit_price, unit_cost=self.unit_cost
        )

    @property
    def revenue(self) -> Decimal:
        return self.quantity * self.unit_price * (1 - self.discount)

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.quantity * self.unit_cost


class ChannelCost(models.Model):
    """What one interaction on a channel costs the firm (SPEC §5, cost to serve). Admin-set."""

    channel = models.CharField(max_length=20, choices=Channel, unique=True)
    cost_per_interaction = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )

    class Meta:
        ordering = ["channel"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cost_per_interaction__gte=0), name="channelcost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.cost_per_interaction}"


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _parse_time(value, field: str) -> time:
    if not isinstance(value, str):
        raise ValidationError({field: f"{value!r} is not a time (HH:MM)."})
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValidationError({field: f"{value!r} is not a time (HH:MM)."}) from None


class BusinessCalendar(models.Model):
    """When the desk is open (docs/service-levels.md): a time zone, weekly hours and holidays,
    or around the clock. One is the default; one may be a channel's own."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="e.g. Europe/Berlin")
    # {"0": [["09:00", "17:00"]], ...}: weekday (0 = Monday) to opening spans in local time;
    # "24:00" or "00:00" as a closing time is midnight at the end of the day.
    weekly_hours = models.JSONField(default=dict, blank=True)
    holidays = models.JSONField(
        default=list, blank=True, help_text="Local dates when it is closed (YYYY-MM-DD)."
    )
    always_open = models.BooleanField(default=False, help_text="Open around the clock (24/7).")
    is_default = models.BooleanField(
        default=False, help_text="Used by business-hours policies that name no calendar."
    )
    channel = models.CharField(
        max_length=20,
        choices=Channel,
        blank=True,
        help_text="The calendar of this channel's items, before the default one.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="calendar_one_default"
            ),
            models.UniqueConstraint(
                fields=["channel"], condition=~Q(channel=""), name="calendar_one_per_channel"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def spans(self) -> dict[int, list[tuple[time, time]]]:
        """weekly_hours parsed, or a ValidationError naming the field."""
        hours = self.weekly_hours
        if not isinstance(hours, dict):
            raise ValidationError({"weekly_hours": "Give an object of weekday: [[opens, closes]]."})
        parsed: dict[int, list[tuple[time, time]]] = {}
        for key, spans in hours.items():
            if str(key) not in {str(d) for d in range(7)}:
                raise ValidationError(
                    {"weekly_hours": f"{key!r} is not a weekday (0 = Monday … 6 = Sunday)."}
                )
            day = int(key)
            if not isinstance(spans, list):
                raise ValidationError({"weekly_hours": f"{WEEKDAYS[day]}: give a list of spans."})
            parsed[day] = []
            for span in spans:
                if not (isinstance(span, list | tuple) and len(span) == 2):
                    raise ValidationError(
                        {"weekly_hours": f"{WEEKDAYS[day]}: a span is [opens, closes]."}
                    )
                midnight = span[1] in ("24:00", "00:00")
                opens = _parse_time(span[0], "weekly_hours")
                closes = time(0) if midnight else _parse_time(span[1], "weekly_hours")
                if not midnight and closes <= opens:
                    raise ValidationError(
                        {
                            "weekly_hours": f"{WEEKDAYS[day]}: closes at {span[1]}, "
                            f"not after it opens at {span[0]}."
                        }
                    )
                parsed[day].append((opens, closes))
        return parsed

    def holiday_dates(self) -> frozenset[date]:
        if not isinstance(self.holidays, list):
            raise ValidationError({"holidays": "Give a list of dates (YYYY-MM-DD)."})
        days = set()
        for value in self.holidays:
            try:
                days.add(date.fromisoformat(value))
            except (TypeError, ValueError):
                raise ValidationError(
                    {"holidays": f"{value!r} is not a date (YYYY-MM-DD)."}
                ) from None
        return frozenset(days)

    def clean(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"time_zone": f"Unknown time zone {self.time_zone!r}."}) from None
        spans = self.spans()
        self.holiday_dates()
        if not self.always_open and not any(spans.values()):
            raise ValidationError(
                {"weekly_hours": "Give opening hours, or make the calendar open around the clock."}
            )

    def calendar(self) -> business_hours.Calendar:
        """The arithmetic's calendar (interactions.business_hours)."""
        if self.always_open:
            return business_hours.Calendar(time_zone=self.time_zone, always_open=True)
        return business_hours.Calendar(
            time_zone=self.time_zone, weekly=self.spans(), holidays=self.holiday_dates()
        )


class ServiceLevelTarget(models.Model):
    """Admin-set service-level policy for a type of interaction (SPEC §5, service level).

    An empty channel means "any channel", an empty tier "any tier". The most specific policy
    wins: the customer's tier first, then the item's own channel. Hours are calendar hours
    unless `business_hours` is set: then they count on `calendar` (else the channel's own
    calendar, else the default one).
    """

    type = models.CharField(max_length=20, choices=InteractionType)
    channel = models.CharField(
        max_length=20, choices=Channel, blank=True, help_text="Empty for any channel."
    )
    first_response_hours = models.PositiveIntegerField(
        validators=[MinValueValidator(1), bounds.validate_service_target_hours]
    )
    next_reply_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), bounds.validate_service_target_hours],
        help_text="For each later reply the customer waits for; empty: no target.",
    )
    resolution_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), bounds.validate_service_target_hours],
        help_text="From the item to its resolution; empty: no target.",
    )
    tier = models.CharField(
        max_length=20, choices=ServiceTier, blank=True, help_text="Empty for any value tier."
    )
    business_hours = models.BooleanField(
        default=False, help_text="Count the hours on a business calendar, not the clock."
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies",
        help_text="Empty: the channel's calendar, else the default one.",
    )

    class Meta:
        ordering = ["type", "channel", "tier"]
        constraints = [
            models.UniqueConstraint(fields=["type", "channel", "tier"], name="servicelevel_unique"),
            models.CheckConstraint(
                condition=Q(first_response_hours__gte=1), name="servicelevel_hours_positive"
            ),
        ]

    def __str__(self) -> str:
        where = self.get_channel_display() if self.channel else "any channel"
        tier = f" ({self.get_tier_display()})" if self.tier else ""
        return f"{self.get_type_display()} via {where}{tier}: {self.first_response_hours} h"


class CustomerServiceTier(models.Model):
    """A copy of each customer's value tier (valuation's, above this app), kept by valuation's
    handler of FIGURES_CHANGED, so a policy can be chosen by tier here without importing it."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    tier = models.CharField(max_length=20, choices=ServiceTier, blank=True)

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier}"


class OfferingRating(models.Model):
    """A customer's rating of an offering they hold (SPEC §3). One current rating per pair."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="offering_ratings"
    )
    offering = models.ForeignKey(
        "offerings.Offering", on_delete=models.CASCADE, related_name="ratings"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rated_at = models.DateTimeField(default=timezone.now, validators=[bounds.validate_happened_at])
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recorded_ratings",
    )
    interaction = models.ForeignKey(
        Interaction,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ratings",
        help_text="The interaction in which the customer gave the rating.",
    )

    class Meta:
        ordering = ["-rated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "offering"], name="rating_one_per_pair"),
            models.CheckConstraint(condition=Q(rating__range=(1, 5)), name="rating_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} rates {self.offering}: {self.rating}/5"


class Notice(models.Model):
    """An escalation notice in the app and by e-mail (docs/service-levels.md): an open item
    near its response or resolution due time or past it, for its assignee and the customer's
    manager. Written in
    bulk by services.service_level_escalate; one per user, item and kind, so the periodic task
    can run again without repeating itself."""

    class Kind(models.TextChoices):
        NEAR_BREACH = "near_breach", "Due soon"
        BREACHED = "breached", "Overdue"
        RESOLUTION_NEAR = "resolution_near", "Resolution due soon"
        RESOLUTION_BREACHED = "resolution_breached", "Resolution overdue"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # When it went out in the person's e-mail of its escalation run (None: not sent: the
    # person opted out, has no address, or it predates e-mailed notices).
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "interaction", "kind"], name="notice_once_per_user_item_kind"
            ),
        ]
        indexes = [
            # The top bar's badge: a user's unread notices.
            models.Index(fields=["user"], name="notice_unread_idx", condition=Q(read_at=None)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.interaction_id} for {self.user_id}"


class SupportSettings(models.Model):
    """The support desk's choices admins make in the app (docs/service-levels.md): one row
    (pk 1). No row: the deployment's setting (CRM_SUPPORT_ASSIGNMENT) is the default."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON, editable=False)
    assignment = models.CharField(max_length=20, choices=AssignmentMode)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "support settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="supportsettings_one_row"),
        ]

    def __str__(self) -> str:
        return f"Assignment: {self.get_assignment_display()}"
