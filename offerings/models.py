from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from core import bounds


class Category(models.Model):
    """The need an offering serves (e.g. "Coffee supply", "Machine maintenance")."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Partner(models.Model):
    """A specialist firm that delivers components of our offerings."""

    name = models.CharField(max_length=200, unique=True)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# The value tiers of SPEC §5, as stored on customers; each maps to one eligibility flag below.
TIER_FIELDS = {
    "mvc": "suits_mvc",
    "mgc": "suits_mgc",
    "below_zero": "suits_below_zero",
    "maintain": "suits_maintain",
}
# Tiers with no eligibility flag: a customer with no purchase yet ("new") has no value rank,
# so every offering suiting their segment and needs is a candidate for the first order.
UNRANKED_TIERS = frozenset({"new"})
# Segments: the kind of customer (customers.models.CustomerKind).
SEGMENT_FIELDS = {"person": "suits_person", "organization": "suits_organization"}


def margin_percent(price: Decimal, cost: Decimal) -> Decimal | None:
    """Margin as a percentage of the price, to one decimal; None when the price is zero."""
    if not price:
        return None
    return ((price - cost) / price * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


class Offering(models.Model):
    name = models.CharField(max_length=200, unique=True)
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="offerings",
        help_text="The need this offering serves.",
    )
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0), bounds.validate_unit_amount],
        help_text="Bundle price the customer pays.",
    )
    active = models.BooleanField(
        default=True, help_text="Offered and orderable now. Archived offerings are never active."
    )
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Archived offerings stay on history but cannot be ordered anew.",
    )
    replenish_every_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), bounds.validate_interval_days],
        help_text="Bought again every so many days, if it is.",
    )
    # --- Eligibility: who the offering suits (used by next best offerings, SPEC §5) ---
    eligible_needs = models.ManyToManyField(
        Category,
        blank=True,
        related_name="suited_offerings",
        help_text="Other needs this offering also suits, besides its own category.",
    )
    suits_mvc = models.BooleanField("most valuable (MVC)", default=True)
    suits_mgc = models.BooleanField("most growable (MGC)", default=True)
    suits_below_zero = models.BooleanField("below zero", default=True)
    suits_maintain = models.BooleanField("maintain", default=True)
    suits_person = models.BooleanField("persons", default=True)
    suits_organization = models.BooleanField("organizations", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="offering_price_not_negative"),
            models.CheckConstraint(
                condition=Q(archived_at__isnull=True) | Q(active=False),
                name="offering_archived_not_active",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.archived_at is not None and self.active:
            raise ValidationError(
                {"active": "An archived offering cannot be active; restore it first."}
            )

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def cost(self) -> Decimal:
        # Uses the annotation of offerings.selectors when present (no query per row).
        annotated = getattr(self, "components_cost", None)
        if annotated is not None:
            return annotated
        return sum((c.cost for c in self.components.all()), Decimal("0.00"))

    @property
    def margin(self) -> Decimal:
        return self.price - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return margin_percent(self.price, self.cost)


class ComponentKind(models.TextChoices):
    PRODUCT = "product", "Product"
    SERVICE = "service", "Service"


class Component(models.Model):
    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ComponentKind)
    partner = models.ForeignKey(
        Partner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="components",
        help_text="Empty when delivered in-house.",
    )
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0), bounds.validate_unit_amount],
    )
    cost = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0), bounds.validate_unit_amount],
    )

    class Meta:
        ordering = ["offering", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0) & Q(cost__gte=0), name="component_amounts_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offering}: {self.name}"

    @property
    def provider(self) -> str:
        return self.partner.name if self.partner_id else "in-house"
