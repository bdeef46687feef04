from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReplenishmentConfig(AppConfig):
    name = "replenishment"

    def ready(self) -> None:
        # Here, not at the top: it imports models, which exist once the registry is ready.
        from .schedule import replenishment_schedule_ensure

        post_migrate.connect(
            replenishment_schedule_ensure,
            sender=self,
            dispatch_uid="replenishment.replenishment_schedule_ensure",
        )
