"""Contact forms the firm embeds on its sites, and what visitors sent through them."""

import json
import re

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from interactions.choices import InteractionType

# What a visitor may write (bounded before anything reaches the database).
NAME_MAX = 200  # a customer's name (customers.Customer.name)
EMAIL_MAX = 254
PHONE_MAX = 40  # a customer's phone (customers.Customer.phone)
MESSAGE_MAX = 5000
# The stored copy of a submission: the four fields above and their keys, with room to spare.
FIELDS_MAX_BYTES = 16 * 1024
ORIGINS_MAX = 20

# The types a visitor's message may be logged as (the admin picks one per form).
FORM_TYPES = [
    (value, label)
    for value, label in InteractionType.choices
    if value
    in {
        InteractionType.INQUIRY,
        InteractionType.COMPLAINT,
        InteractionType.SERVICE,
        InteractionType.FEEDBACK,
    }
]

# An origin as the browser sends it and CSP's frame-ancestors takes it: a scheme, a host
# (a name, a "*." wildcard of a domain, or an IPv4 address) and an optional port; nothing
# else (no path, no quote, no ";" that would end the directive and start another).
ORIGIN_RE = re.compile(
    r"^https?://(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(:[0-9]{1,5})?$"
)


def origins_parse(text: str) -> list[str]:
    """The origins written one per line (or separated by spaces or commas), normalised."""
    return [part.strip().lower().rstrip("/") for part in re.split(r"[\s,]+", text) if part.strip()]


def validate_origins(text: str) -> None:
    origins = origins_parse(text)
    bad = [origin for origin in origins if not ORIGIN_RE.match(origin)]
    if bad:
        raise ValidationError(
            "Not an origin (like https://www.example.com, no path): %(bad)s",
            params={"bad": ", ".join(bad[:5])},
        )
    if len(origins) > ORIGINS_MAX:
        raise ValidationError(f"At most {ORIGINS_MAX} origins.")


def validate_fields_size(value) -> None:
    if len(json.dumps(value, cls=DjangoJSONEncoder)) > FIELDS_MAX_BYTES:
        raise ValidationError(f"At most {FIELDS_MAX_BYTES} bytes of submitted fields.")


class ContactForm(models.Model):
    name = models.CharField(max_length=100, help_text="Shown as the form's title.")
    slug = models.SlugField(
        max_length=60, unique=True, help_text="Its address: /forms/this-slug/ (letters, digits, -)."
    )
    interaction_type = models.CharField(
        max_length=20,
        choices=FORM_TYPES,
        default=InteractionType.INQUIRY,
        help_text="What a submission is logged as (an inquiry or a complaint is answered from "
        "the support queue).",
    )
    intro = models.CharField(
        max_length=300, blank=True, help_text="A line above the fields (optional)."
    )
    success_message = models.TextField(
        max_length=1000,
        default="Thank you — we received your message and will answer soon.",
        help_text="Shown to the visitor after sending.",
    )
    # Kept for the mail app's outbound service, which sends the confirmation (docs/email.md).
    confirm_by_email = models.BooleanField(
        default=False, help_text="Send the visitor a confirmation by email."
    )
    confirmation_text = models.TextField(
        max_length=5000, blank=True, help_text="The confirmation email's text."
    )
    allowed_origins = models.TextField(
        blank=True,
        validators=[validate_origins],
        help_text="The firm's sites that may show this form in an iframe, one origin per line "
        "(https://www.example.com). Empty: the form opens only as a page of its own.",
    )
    active = models.BooleanField(default=True, help_text="An inactive form answers 404.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def origins(self) -> list[str]:
        return origins_parse(self.allowed_origins)

    def clean(self) -> None:
        self.allowed_origins = "\n".join(self.origins())
        if self.confirm_by_email and not self.confirmation_text.strip():
            raise ValidationError({"confirmation_text": "Write the confirmation to send."})


class Submission(models.Model):
    """One message a visitor sent: the interaction it became, and what was sent, as sent."""

    form = models.ForeignKey(ContactForm, on_delete=models.PROTECT, related_name="submissions")
    interaction = models.OneToOneField(
        "interactions.Interaction",
        null=True,
        on_delete=models.SET_NULL,
        related_name="web_submission",
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="web_submissions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A keyed hash (the SECRET_KEY): one address's submissions can be told apart from
    # another's, the address itself is not kept.
    client_hash = models.CharField(max_length=64, blank=True)
    # The signed page token's nonce: the same page sent twice (a double click, a reload) is
    # stored once.
    nonce = models.CharField(max_length=32, unique=True)
    fields = models.JSONField(default=dict, validators=[validate_fields_size])

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.form} · {self.created_at:%Y-%m-%d %H:%M}"
