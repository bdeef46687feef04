"""The customer's side: their portal account and the one-time links they sign in with."""

from django.db import models
from django.utils import timezone


class PortalAccount(models.Model):
    """A customer who signed in to the portal at least once (docs/portal.md)."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_account"
    )
    display_name = models.CharField(max_length=80, blank=True)
    posts_need_approval = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_signed_in_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Portal account of customer {self.customer_id}"


class PortalSignInToken(models.Model):
    """One sign-in link. Only the sha256 of its token is stored: the database never holds a
    working link; `used_at` makes it single-use."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_sign_in_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    sent_to = models.EmailField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="portal_token_expiry_idx")]

    def __str__(self) -> str:
        return f"Sign-in link of customer {self.customer_id}"
