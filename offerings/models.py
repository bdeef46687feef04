from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


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


class Offering(models.Model):
    name = models.CharField(max_length=200, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="offerings")
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text="Bundle price.",
    )
    active = models.BooleanField(default=True)
    replenish_every_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Bought again every so many days, if it is."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="offering_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def cost(self) -> Decimal:
        return sum((c.cost for c in self.components.all()), Decimal("0"))

    @property
    def margin(self) -> Decimal:
        return self.price - self.cost


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
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    cost = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])

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
