from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WorkspaceConfig(AppConfig):
    name = "workspace"

    def ready(self) -> None:
        from .schedule import affinity_schedule_ensure

        post_migrate.connect(
            affinity_schedule_ensure,
            sender=self,
            dispatch_uid="workspace.affinity_schedule_ensure",
        )
