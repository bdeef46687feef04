from django.apps import AppConfig
from django.db.models.signals import post_migrate

from offerings.signals import offering_archived


class ReplenishmentConfig(AppConfig):
    name = "replenishment"

    def ready(self) -> None:
        # Here, not at the top: they import models, which exist once the registry is ready.
        from . import receivers
        from .schedule import replenishment_schedule_ensure

        post_migrate.connect(
            replenishment_schedule_ensure,
            sender=self,
            dispatch_uid="replenishment.replenishment_schedule_ensure",
        )
        offering_archived.connect(
            receivers.subscriptions_pause_on_archive,
            dispatch_uid="replenishment.subscriptions_pause_on_archive",
        )
