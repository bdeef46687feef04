"""Vocabularies of interactions, importable without models. The channel is the customers' own
vocabulary (consents, preferred channel): interactions take it from there."""

from django.db import models

from customers.choices import Channel

__all__ = [
    "SERVICE_TYPES",
    "Channel",
    "Direction",
    "InteractionType",
    "OfferOutcome",
    "ServiceTier",
]


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class InteractionType(models.TextChoices):
    INQUIRY = "inquiry", "Inquiry"
    COMPLAINT = "complaint", "Complaint"
    ORDER = "order", "Order"
    SERVICE = "service", "Service"
    FEEDBACK = "feedback", "Feedback / idea"
    OFFER = "offer", "Offer"
    TEACHING = "teaching", "Teaching"
    OUTREACH = "outreach", "Outreach"


class OfferOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    NO_ANSWER = "no_answer", "No answer"


# Types that cost the firm a contact (SPEC §5, cost to serve) and usually need an answer.
SERVICE_TYPES = frozenset(
    {InteractionType.INQUIRY, InteractionType.COMPLAINT, InteractionType.SERVICE}
)


class ServiceTier(models.TextChoices):
    """The value tiers a service-level policy can name. The tier is valuation's (above this
    app: valuation.declared.ValueTier); the values are repeated here so a policy can be
    stored and validated without importing it (tests/test_service_policies.py checks they
    stay the same)."""

    MVC = "mvc", "Most valuable"
    MGC = "mgc", "Most growable"
    BELOW_ZERO = "below_zero", "Below zero"
    MAINTAIN = "maintain", "Maintain"
    NEW = "new", "New"


class AssignmentMode(models.TextChoices):
    """Who takes a new support item (interactions.assignment)."""

    OFF = "off", "Off: new items wait in “Unassigned”"
    LEAST_BUSY = "least_busy", "Least busy: the available person with the fewest open items"
    ROUND_ROBIN = "round_robin", "Round robin: the available person whose last item is oldest"
