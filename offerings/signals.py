"""What the catalog announces to the apps above it, which register in their AppConfig.ready.

Sent inside the service's transaction, so a receiver's writes commit (or roll back) with it.
"""

from django.dispatch import Signal

# Sent by offerings.services.offering_archive with offering=<the archived Offering>.
offering_archived = Signal()
