from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .names import WebhookEvent

RESPONSE_EXCERPT_MAX = 2000


class Endpoint(models.Model):
    """A URL that receives the events it names, signed with its secret.

    The secret is stored as it is (not hashed: every delivery is signed with it; it is shown
    once, when the endpoint is created). Anyone who can read this table can sign as the CRM.
    """

    url = models.URLField(max_length=500)
    # Public names (webhooks.names.WebhookEvent); a list, checked by the services.
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=100, editable=False)
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    # Consecutive failed deliveries (given up after their last attempt); 0 after a success.
    failure_count = models.PositiveIntegerField(default=0)
    # The first failed attempt since the last success: a day of failure disables too.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One event for one endpoint: the webhooks' outbox, written in the event's transaction.

    `body` is the exact JSON sent (the same bytes on every attempt, so the event id inside
    lets the receiver deduplicate). A task claims an attempt by bumping `claim` and setting
    `lease_until`; a claim whose task was lost expires and the sweeper claims again.
    """

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40)  # the envelope's "id", stable across attempts
    event_type = models.CharField(max_length=40, choices=WebhookEvent.choices)
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)  # HTTP requests made
    claim = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.TextField(
        blank=True, validators=[MaxLengthValidator(RESPONSE_EXCERPT_MAX)]
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            # One delivery per event and endpoint: the in-transaction subscriber is idempotent.
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="delivery_once"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_idx"),
            # The sweeper's question: which pending deliveries are due, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_pending_idx",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint_id}"
