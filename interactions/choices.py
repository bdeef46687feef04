"""Vocabularies of interactions, importable without models. The channel is the customers' own
vocabulary (consents, preferred channel): interactions take it from there."""

from django.db import models

from customers.choices import Channel

__all__ = ["SERVICE_TYPES", "Channel", "Direction", "InteractionType", "OfferOutcome"]


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
