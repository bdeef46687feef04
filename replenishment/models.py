"""Replenishment: what customers buy again (subscriptions, their deliveries) and when they are
expected to (purchase forecasts). Above interactions: a delivery logs an interaction.

The tables kept the names they had when these models lived in offerings (moved state-only,
migration 0001)."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core import bounds
from offerings.models import Offering


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"


class SubscriptionMode(models.TextChoices):
    AUTO_ORDER = "auto_order", "Order automatically"
    REMINDER = "reminder", "Remind the customer"


class ReplenishmentSubscription(models.Model):
    """A customer buys an offering again every so many days (SPEC §3)."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="replenishments"
    )
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="replenishments")
    interval_days = models.PositiveIntegerField(
        validators=[MinValueValidator(1), bounds.validate_interval_days]
    )
    quantity = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01")), bounds.validate_quantity],
    )
    next_due = models.DateField(db_index=True, validators=[bounds.validate_planned_on])
    mode = models.CharField(
        max_length=20,
        choices=SubscriptionMode,
        default=SubscriptionMode.REMINDER,
        help_text="Place the order when due, or remind the customer and their manager.",
    )
    status = models.CharField(
        max_length=20, choices=SubscriptionStatus, default=SubscriptionStatus.ACTIVE
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "offerings_replenishmentsubscription"
        ordering = ["next_due", "id"]
        indexes = [models.Index(fields=["status", "next_due"], name="replenishment_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_days__gte=1), name="replenishment_interval_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="replenishment_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offering} for {self.customer} every {self.interval_days} days"


class ReplenishmentDelivery(models.Model):
    """One due date of a subscription turned into an interaction: at most once per due date."""

    subscription = models.ForeignKey(
        ReplenishmentSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    due_on = models.DateField()
    interaction = models.OneToOneField(
        "interactions.Interaction",
        null=True,
        on_delete=models.SET_NULL,
        related_name="replenishment_delivery",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "offerings_replenishmentdelivery"
        ordering = ["-due_on", "-id"]
        verbose_name_plural = "replenishment deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "due_on"], name="replenishment_once_per_due_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription} due {self.due_on}"


class PurchaseForecast(models.Model):
    """When a customer is expected to buy an offering again (SPEC §5 "Replenishment due"): one
    median interval between their distinct order days of it after the last one. Kept for every
    offering bought on two or more days by ``replenishment.forecasts.purchase_forecasts_refresh``
    (after each recompute and after bulk loads), so the to-do list reads the due ones off an
    index instead of going through every order of the portfolio."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="purchase_forecasts"
    )
    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="+")
    last_purchase = models.DateField()
    median_interval_days = models.FloatField()
    predicted_on = models.DateField(db_index=True)

    class Meta:
        db_table = "offerings_purchaseforecast"
        ordering = ["predicted_on", "customer"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "offering"], name="one_forecast_per_customer_offering"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} buys {self.offering_id} again on {self.predicted_on}"
