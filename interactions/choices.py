"""Vocabularies of interactions, importable without models (customers use Channel too)."""

from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    CHAT = "chat", "Chat"
    WEB = "web", "Web"
    IN_PERSON = "in_person", "In person"
    SOCIAL = "social", "Social"
    SMS = "sms", "SMS"
    LETTER = "letter", "Letter"
    PARTNER = "partner", "Partner"


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
