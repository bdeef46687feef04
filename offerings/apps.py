from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OfferingsConfig(AppConfig):
    name = "offerings"

    def ready(self) -> None:
        from .schedule import replenishment_schedule_ensure

        post_migrate.connect(
            replenishment_schedule_ensure,
            sender=self,
            dispatch_uid="offerings.replenishment_schedule_ensure",
        )
