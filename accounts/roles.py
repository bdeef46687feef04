"""The three roles of SPEC §2, as Django groups with model permissions.

A user's role is the group they belong to (superusers count as admins). Ownership rules
(a manager edits only their own portfolio) are not model permissions: they live in the
selectors and services that scope querysets by owner.
"""

from enum import StrEnum
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q


class Role(StrEnum):
    ADMIN = "Admin"
    MANAGER = "Customer manager"
    SUPPORT = "Support staff"


# Permission codenames per role, as "app_label.codename". Admins get every permission of
# the project's apps and of every app in the Django admin (admin_app_labels).
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.MANAGER: [
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "customers.view_customer_money",
        "customers.view_customerfact",
        "customers.add_customerfact",
        "customers.view_factkey",
        "interactions.view_interaction",
        "interactions.add_interaction",
        "interactions.change_interaction",
        "interactions.view_orderline",
        "offerings.view_offering",
        "offerings.view_category",
        "offerings.view_partner",
        "offerings.view_component",
    ],
    Role.SUPPORT: [
        "customers.view_customer",
        "customers.view_customerfact",
        "customers.add_customerfact",
        "customers.view_factkey",
        "interactions.view_interaction",
        "interactions.add_interaction",
        "interactions.change_interaction",
        "interactions.view_orderline",
        "offerings.view_offering",
        "offerings.view_category",
        "offerings.view_partner",
        "offerings.view_component",
    ],
}


def admin_app_labels() -> set[str]:
    """The apps whose every permission the Admin role holds: the project's own apps (those that
    live in this repository) and every app with a model in the Django admin (users, tokens,
    schedules, sign-in lockouts). Derived, not listed, so a new app or admin page is covered
    the day it is added; the post_migrate sync (accounts.apps) applies it after every migrate.
    """
    from django.apps import apps
    from django.conf import settings
    from django.contrib import admin

    def is_own(path: Path) -> bool:
        # In the repository and not in an environment inside it (.venv/).
        if not path.is_relative_to(settings.BASE_DIR):
            return False
        return not path.relative_to(settings.BASE_DIR).parts[0].startswith(".")

    own = {config.label for config in apps.get_app_configs() if is_own(Path(config.path))}
    return own | {model._meta.app_label for model in admin.site._registry}


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    # Cached on the user object: the navigation asks on every page.
    cached = getattr(user, "_crm_role", None)
    if cached is None:
        access_load(user)
        cached = user._crm_role
    return cached or None


def access_load(user) -> None:
    """The user's role and model permissions in one query, cached on the instance as
    role_of and Django's ModelBackend keep them (`_crm_role`, `_perm_cache` and its two
    halves): a request asks for both, and three queries became one (accounts.backends)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    user_groups = user.groups.through._meta.db_table
    group_permissions = Group.permissions.through._meta.db_table
    user_permissions = user.user_permissions.through._meta.db_table
    permission, content_type = Permission._meta.db_table, ContentType._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.name, ct.app_label, p.codename FROM {user_groups} ug "
            f"JOIN {Group._meta.db_table} g ON g.id = ug.group_id "
            f"LEFT JOIN {group_permissions} gp ON gp.group_id = g.id "
            f"LEFT JOIN {permission} p ON p.id = gp.permission_id "
            f"LEFT JOIN {content_type} ct ON ct.id = p.content_type_id "
            "WHERE ug.user_id = %s "
            f"UNION ALL SELECT NULL, ct.app_label, p.codename FROM {user_permissions} up "
            f"JOIN {permission} p ON p.id = up.permission_id "
            f"JOIN {content_type} ct ON ct.id = p.content_type_id "
            "WHERE up.user_id = %s",
            [user.pk, user.pk],
        )
        rows = cursor.fetchall()
    names = {group for group, _, _ in rows if group is not None}
    user._crm_role = next((role for role in Role if role.value in names), "")
    granted = {f"{app}.{codename}" for group, app, codename in rows if codename and group}
    own = {f"{app}.{codename}" for group, app, codename in rows if codename and not group}
    if user.is_active:
        user._group_perm_cache, user._user_perm_cache = granted, own
        user._perm_cache = granted | own


def is_admin(user) -> bool:
    return role_of(user) == Role.ADMIN


def is_manager(user) -> bool:
    return role_of(user) == Role.MANAGER


def is_support(user) -> bool:
    return role_of(user) == Role.SUPPORT


def role_groups_sync(*, group_model, permission_model) -> None:
    """Create the role groups and give each exactly its permissions. Idempotent.

    Takes the model classes so that the data migration can pass its historical models.
    """

    def permissions(dotted_names: list[str]):
        # A permission whose model a later migration creates is skipped here; the
        # post_migrate sync (accounts.apps) assigns it once every migration has run.
        wanted = Q()
        for dotted in dotted_names:
            app_label, codename = dotted.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        return permission_model.objects.filter(wanted)

    admin, _ = group_model.objects.get_or_create(name=Role.ADMIN.value)
    admin.permissions.set(
        permission_model.objects.filter(content_type__app_label__in=admin_app_labels())
    )
    for role, dotted_names in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role.value)
        group.permissions.set(permissions(dotted_names))
