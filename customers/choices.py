"""Vocabularies of customers, importable without models."""

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
