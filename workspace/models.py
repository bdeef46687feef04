from django.db import models
from django.db.models import F, Q


class OfferingAffinity(models.Model):
    """Item-to-item co-occurrence (SPEC §5 next best offerings): of the customers who hold
    ``offering``, ``customers_both`` also hold ``other``; ``share`` = customers_both / holders
    of ``offering``. "Hold" means ordered at least once. Rebuilt in bulk by
    ``workspace.services.offering_affinities_refresh`` (nightly)."""

    offering = models.ForeignKey(
        "offerings.Offering", on_delete=models.CASCADE, related_name="affinities"
    )
    other = models.ForeignKey(
        "offerings.Offering", on_delete=models.CASCADE, related_name="affinities_as_other"
    )
    customers_both = models.PositiveIntegerField()
    holders = models.PositiveIntegerField(help_text="Customers who hold the first offering.")
    share = models.FloatField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["offering", "-share"]
        constraints = [
            models.UniqueConstraint(fields=["offering", "other"], name="one_affinity_per_pair"),
            models.CheckConstraint(condition=~Q(offering=F("other")), name="affinity_not_self"),
            models.CheckConstraint(
                condition=Q(share__gte=0) & Q(share__lte=1), name="affinity_share_0_to_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offering_id} → {self.other_id}: {self.share:.0%}"
