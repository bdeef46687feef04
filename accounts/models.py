"""Roles are groups (accounts.roles); this module exists so that post_migrate reaches
accounts.apps, which re-syncs the role permissions after every migrate; and it holds the
staff's availability for the queue's automatic assignment."""

from django.conf import settings
from django.db import models


class StaffAvailability(models.Model):
    """Whether a support person takes new items from the queue's automatic assignment (set
    by each person on the queue page; no row: available), and when they were last given one
    (round-robin's turn). interactions.assignment reads it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="availability",
    )
    available = models.BooleanField(default=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    # Escalation notices also come by e-mail (one message per escalation run); off: in the app only.
    notice_emails = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "staff availability"

    def __str__(self) -> str:
        return f"{self.user}: {'available' if self.available else 'away'}"
