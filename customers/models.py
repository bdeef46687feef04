from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from interactions.choices import Channel


class CustomerKind(models.TextChoices):
    PERSON = "person", "Person"
    ORGANIZATION = "organization", "Organization"


class LifecycleStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    ACTIVE = "active", "Active"
    LAPSED = "lapsed", "Lapsed"
    SHED = "shed", "Shed"


class WalletSource(models.TextChoices):
    STATED = "stated", "Stated by the customer"
    ESTIMATED = "estimated", "Estimated by the manager"
    INFERRED = "inferred", "Inferred from similar customers"


class ValueTier(models.TextChoices):
    """SPEC §5 value tiers, each with its recommendation."""

    MVC = "mvc", "Most valuable"
    MGC = "mgc", "Most growable"
    BELOW_ZERO = "below_zero", "Below zero"
    MAINTAIN = "maintain", "Maintain"


TIER_RECOMMENDATION = {
    ValueTier.MVC: "keep",
    ValueTier.MGC: "grow",
    ValueTier.BELOW_ZERO: "shed or re-price",
    ValueTier.MAINTAIN: "maintain",
}


class Customer(models.Model):
    kind = models.CharField(max_length=20, choices=CustomerKind, default=CustomerKind.PERSON)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    external_ref = models.CharField(
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text="Identifier in another system; unique, used by imports.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="portfolio",
        help_text="The customer manager whose portfolio this is.",
    )
    status = models.CharField(
        max_length=20, choices=LifecycleStatus, default=LifecycleStatus.PROSPECT
    )
    acquired_on = models.DateField(null=True, blank=True)
    acquisition_source = models.CharField(max_length=100, blank=True)
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    preferred_channel = models.CharField(max_length=20, choices=Channel, blank=True)
    wallet_annual = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="The customer's total annual spend in our category.",
    )
    wallet_source = models.CharField(max_length=20, choices=WalletSource, blank=True)

    # --- Figures, written only by the recompute worker (valuation.services) ---
    interaction_count = models.PositiveIntegerField(default=0, editable=False)
    last_contact_at = models.DateTimeField(null=True, blank=True, editable=False)
    tier = models.CharField(max_length=20, choices=ValueTier, blank=True, editable=False)
    historic_value = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, editable=False
    )
    predicted_clv = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, editable=False
    )
    growth_potential = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, editable=False
    )
    revenue_12m = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, editable=False
    )
    p_alive = models.FloatField(null=True, blank=True, editable=False)
    share_of_customer = models.FloatField(null=True, blank=True, editable=False)
    share_of_needs = models.FloatField(null=True, blank=True, editable=False)
    experience_score = models.FloatField(null=True, blank=True, editable=False)
    valuation_method = models.CharField(max_length=20, blank=True, editable=False)
    metrics_computed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Every change that affects the figures bumps figures_version in its own transaction; the
    # recompute records the version it saw. A customer whose computed version lags is stale,
    # which is how the sweeper finds recomputes whose task was lost.
    figures_version = models.PositiveBigIntegerField(default=0, editable=False)
    figures_computed_version = models.PositiveBigIntegerField(default=0, editable=False)
    figures_requested_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        permissions = [("view_customer_money", "Can see money figures of customers")]
        indexes = [
            models.Index(fields=["owner", "name"]),
            models.Index(fields=["status"]),
            models.Index(fields=["owner", "tier"]),
            models.Index(fields=["owner", "-predicted_clv"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(wallet_annual__isnull=True) | Q(wallet_annual__gte=0),
                name="customer_wallet_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def figures_stale(self) -> bool:
        return self.figures_computed_version < self.figures_version

    @property
    def recommendation(self) -> str:
        return TIER_RECOMMENDATION.get(self.tier, "")
