from django.conf import settings
from django.db import models

# Stripe's bound; a longer header is refused with 400.
KEY_MAX_LENGTH = 255


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key` header, per user and key,
    replayed to a retry of the same request until `expires_at` (idempotency.middleware)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=KEY_MAX_LENGTH)
    # SHA-256 of the method, path and body: the same key with another request is refused.
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=200, blank=True)
    body = models.BinaryField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"
