from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from core import bounds

from .choices import Channel


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
    acquired_on = models.DateField(null=True, blank=True, validators=[bounds.validate_happened_on])
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
    needs_triage = models.BooleanField(
        default=False,
        help_text=(
            "Created from a message or a web form by someone we did not know: support checks "
            "who it is (a new prospect, or someone known under another address) and clears it."
        ),
    )

    # A customer's figures live in valuation's own table (valuation.models.CustomerFigures,
    # `customer.figures`), its next due action in workspace's (`customer.agenda`).
    # Signed into every preference-centre link (customers.preference_links): bumping it withdraws
    # every link issued before; None withdraws them for good (the customer was erased).
    preference_link_version = models.PositiveIntegerField(
        default=0, null=True, blank=True, editable=False
    )

    # The duplicate keys (customers.duplicates), written by the services with the profile.
    email_key = models.CharField(max_length=254, blank=True, editable=False, db_index=True)
    phone_key = models.CharField(max_length=40, blank=True, editable=False, db_index=True)
    name_key = models.CharField(max_length=200, blank=True, editable=False, db_index=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Who changed which profile field when (stored copies kept by the services are not).
    history = HistoricalRecords(
        excluded_fields=[
            "preference_link_version",
            "updated_at",
            "email_key",
            "phone_key",
            "name_key",
        ]
    )

    class Meta:
        ordering = ["name", "id"]
        permissions = [("view_customer_money", "Can see money figures of customers")]
        indexes = [
            models.Index(fields=["owner", "name"]),
            models.Index(fields=["status"]),
            # Incoming mail finds its sender by address, case-blind (mail.inbound).
            models.Index(Lower("email"), name="customer_email_lower_idx"),
            models.Index(
                fields=["created_at"],
                name="customer_triage_idx",
                condition=Q(needs_triage=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(wallet_annual__isnull=True) | Q(wallet_annual__gte=0),
                name="customer_wallet_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def email_normalise(address: str) -> str:
    """The form addresses are stored and compared in: trimmed and lower-cased (the local part
    is case-sensitive by the letter of RFC 5321, by no mail provider in practice)."""
    return address.strip().lower()


class CustomerEmail(models.Model):
    """Another address a customer writes from (the profile's `email` is the main one). Mail
    from any of them reaches the same customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="other_emails")
    address = models.EmailField(help_text="Stored normalised (customers.models.email_normalise).")
    # The duplicate key (customers.duplicates.email_key), written by the services.
    address_key = models.CharField(max_length=254, blank=True, editable=False, db_index=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "address"], name="customeremail_unique"),
        ]
        indexes = [models.Index(fields=["address"])]

    def __str__(self) -> str:
        return self.address


class FactKind(models.TextChoices):
    NEED = "need", "Need"
    SPECIFICATION = "specification", "Specification"
    TASTE = "taste", "Taste"
    SIZE = "size", "Size"
    DELIVERY = "delivery", "Delivery"
    CONSTRAINT = "constraint", "Constraint"
    OTHER = "other", "Other"


class FactValueType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    CHOICE = "choice", "One of a list"
    BOOLEAN = "boolean", "Yes / no"
    DATE = "date", "Date"


class NeedStatus(models.TextChoices):
    MET_BY_US = "met_by_us", "Met by us"
    MET_ELSEWHERE = "met_elsewhere", "Met elsewhere"
    UNMET = "unmet", "Unmet"


# The fact key that stands for the customer's wallet: recording it sets Customer.wallet_annual.
WALLET_FACT = "wallet_annual"


class FactKey(models.Model):
    """The admin's vocabulary of what a customer can teach us (SPEC §3 Knowledge)."""

    key = models.SlugField(max_length=60, unique=True)
    label = models.CharField(max_length=120)
    question = models.CharField(
        max_length=200, blank=True, help_text="How staff ask for it, e.g. 'How do you brew?'"
    )
    kind = models.CharField(max_length=20, choices=FactKind, default=FactKind.OTHER)
    value_type = models.CharField(max_length=20, choices=FactValueType, default=FactValueType.TEXT)
    choices = models.JSONField(default=list, blank=True, help_text="Allowed values (a list).")
    category = models.ForeignKey(
        "offerings.Category",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fact_keys",
        help_text="For needs: the offering category that serves it.",
    )
    value_weight = models.PositiveSmallIntegerField(
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="How valuable it is to know (1-100); the most valuable unknown is asked next.",
    )
    customer_editable = models.BooleanField(
        default=True, help_text="Shown in the customer's own preference centre."
    )
    money = models.BooleanField(
        default=False,
        help_text=(
            "A money figure (like the wallet): shown only to roles that see money, never in "
            "the preference centre (core.money)."
        ),
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-value_weight", "label"]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        """A choice asks among its allowed values, which only a choice has; a category belongs
        to a need (the offering category that serves it)."""
        errors = {}
        choices = self.choices
        if not isinstance(choices, list) or not all(
            isinstance(c, str) and c.strip() for c in choices
        ):
            errors["choices"] = "Give the allowed values as a list of words."
        elif len({c.strip() for c in choices}) != len(choices):
            errors["choices"] = "Each allowed value once."
        elif self.value_type == FactValueType.CHOICE and not choices:
            errors["choices"] = "A choice needs its allowed values."
        elif self.value_type != FactValueType.CHOICE and choices:
            errors["choices"] = "Only a choice has allowed values."
        if self.category_id is not None and self.kind != FactKind.NEED:
            errors["category"] = "Only a need names the offering category that serves it."
        if errors:
            raise ValidationError(errors)


class FactSource(models.TextChoices):
    """Who stated a fact: staff recording what they learned, or the customer themself."""

    STAFF = "staff", "Recorded by staff"
    CUSTOMER = "customer", "Stated by the customer"


class CustomerFact(models.Model):
    """One thing a customer taught us, with its provenance. Never edited: a new value
    supersedes the old one, which stays as history."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="facts")
    key = models.ForeignKey(FactKey, on_delete=models.PROTECT, related_name="facts")
    value = models.CharField(max_length=500)
    need_status = models.CharField(max_length=20, choices=NeedStatus, blank=True)
    source_interaction = models.ForeignKey(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="facts_taught",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="facts_recorded",
    )
    source = models.CharField(max_length=20, choices=FactSource, default=FactSource.STAFF)
    recorded_at = models.DateTimeField(auto_now_add=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="superseded_by"
    )
    is_current = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "key"],
                condition=Q(is_current=True),
                name="one_current_fact_per_key",
            ),
        ]
        indexes = [models.Index(fields=["customer", "key", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.key}: {self.value}"


class ChannelConsent(models.Model):
    """Whether a customer agreed to be contacted on a channel, and when and how they said so."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=20, choices=Channel)
    granted = models.BooleanField()
    recorded_at = models.DateTimeField(auto_now=True)
    how = models.CharField(max_length=120, help_text="e.g. 'preference centre', 'by phone'")

    history = HistoricalRecords()

    class Meta:
        ordering = ["channel"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="one_consent_per_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel}: {'yes' if self.granted else 'no'}"


class DuplicatePair(models.Model):
    """One pair of the admins' duplicate report (customers.duplicates), rewritten by the
    periodic report: derived data, dropped with either customer's merge."""

    first = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="duplicate_pairs")
    second = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="duplicate_pairs_second"
    )
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    found_at = models.DateTimeField()

    class Meta:
        ordering = ["-score", "first", "second"]
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="duplicatepair_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} ~ {self.second_id} ({self.score:.2f})"


class CustomerMerge(models.Model):
    """The audit record of a merge (customers.services.customer_merge): who merged which
    customer into which, when, what moved and what conflicted. The old id redirects to the
    survivor and the old external reference stays its alias."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges")
    duplicate_id = models.PositiveBigIntegerField(unique=True)
    duplicate_name = models.CharField(max_length=200)
    duplicate_external_ref = models.CharField(max_length=100, null=True, blank=True, unique=True)
    duplicate_profile = models.JSONField(default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(auto_now_add=True)
    moved = models.JSONField(default=dict, help_text="Rows moved, merged or dropped, by table.")
    conflicts = models.JSONField(default=list)

    class Meta:
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.duplicate_id} merged into {self.survivor_id}"
