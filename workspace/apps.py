from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WorkspaceConfig(AppConfig):
    name = "workspace"

    def ready(self) -> None:
        from .schedule import workspace_schedule_ensure

        post_migrate.connect(
            workspace_schedule_ensure,
            sender=self,
            dispatch_uid="workspace.schedule_ensure",
        )
