from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_save


def _sync_roles(sender, using, **kwargs) -> None:
    # Role permissions are configuration (accounts.roles.ROLE_PERMISSIONS): after every migrate
    # the groups get exactly what the code says, so changing a role needs no data migration.
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from .roles import role_groups_sync

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    role_groups_sync(group_model=Group, permission_model=Permission)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users and roles"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out

        from . import receivers

        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="accounts.sync_roles")
        # API tokens are revoked on sign-out, lockout, password change and deactivation.
        user_logged_out.connect(receivers.on_signed_out, dispatch_uid="accounts.token_signout")
        user_locked_out.connect(receivers.on_locked_out, dispatch_uid="accounts.token_lockout")
        pre_save.connect(
            receivers.on_user_saved,
            sender=get_user_model(),
            dispatch_uid="accounts.token_user_saved",
        )
