from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core import bounds

from .choices import Channel, Direction, InteractionType, OfferOutcome


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


class ServiceLevelTarget(models.Model):
    """Admin-set first-response target for a type of interaction (SPEC §5, service level).

    An empty channel means "any channel"; a target for the item's own channel wins over it.
    """

    type = models.CharField(max_length=20, choices=InteractionType)
    channel = models.CharField(
        max_length=20, choices=Channel, blank=True, help_text="Empty for any channel."
    )
    first_response_hours = models.PositiveIntegerField(
        validators=[MinValueValidator(1), bounds.validate_service_target_hours]
    )

    class Meta:
        ordering = ["type", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["type", "channel"], name="servicelevel_unique"),
            models.CheckConstraint(
                condition=Q(first_response_hours__gte=1), name="servicelevel_hours_positive"
            ),
        ]

    def __str__(self) -> str:
        where = self.get_channel_display() if self.channel else "any channel"
        return f"{self.get_type_display()} via {where}: {self.first_response_hours} h"


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
