"""Writes on sign-in credentials: API tokens are issued here and revoked here.

A token lives API_TOKEN_TTL (accounts.authentication refuses an older one) and is revoked
when its user signs out, is locked out by repeated wrong passwords, changes password or is
deactivated (accounts.apps connects those events to token_revoke).
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from .models import StaffAvailability
from .roles import Role

logger = logging.getLogger(__name__)


def token_is_expired(*, token: Token) -> bool:
    return token.created <= timezone.now() - settings.API_TOKEN_TTL


@transaction.atomic
def token_issue(*, user) -> Token:
    """The user's API token: the current one while it is valid, else a fresh one."""
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and not token_is_expired(token=token):
        return token
    if token is not None:
        token.delete()
    return Token.objects.create(user=user)


def token_revoke(*, user_id: int | None, reason: str) -> int:
    """Delete the user's API tokens; returns how many there were."""
    if user_id is None:
        return 0
    deleted, _ = Token.objects.filter(user_id=user_id).delete()
    if deleted:
        logger.info("API token of user %s revoked: %s", user_id, reason)
    return deleted


# --- Users and their roles (admins: the Django admin and /api/users/) ------------------------

ROLE_SLUGS = {"admin": Role.ADMIN, "manager": Role.MANAGER, "support": Role.SUPPORT}
USER_FIELDS = ("username", "email", "first_name", "last_name", "is_active")
NOT_YOURSELF = "You cannot deactivate yourself or take away your own admin role."


def role_slug(user) -> str | None:
    """The user's role as the API names it, from their prefetched groups (no query)."""
    if user.is_superuser:
        return "admin"
    names = {group.name for group in user.groups.all()}
    return next((slug for slug, role in ROLE_SLUGS.items() if role.value in names), None)


def _role_set(user, role: str | None) -> None:
    """One role group (or none); admins reach the Django admin (is_staff)."""
    groups = Group.objects.filter(name__in=[r.value for r in Role])
    user.groups.remove(*groups)
    if role is not None:
        user.groups.add(Group.objects.get(name=ROLE_SLUGS[role].value))
    user.is_staff = role == "admin" or user.is_superuser
    user.save(update_fields=["is_staff"])
    # role_of's and the permission backend's caches on the instance (accounts.roles.access_load)
    for cache in ("_crm_role", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


def _user_clean(user, *, password: str | None) -> None:
    errors = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        errors = dict(error.error_dict)
    if password is not None:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as error:
            errors["password"] = error.error_list
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def user_create(*, username: str, role: str | None, password: str | None = None, **fields):
    """A staff user with one role. Without a password they cannot sign in until one is set
    (the Django admin, `manage.py changepassword`, or `PATCH` with a password)."""
    unknown = set(fields) - set(USER_FIELDS)
    if unknown:
        raise TypeError(f"user_create() got unknown fields: {sorted(unknown)}")
    user = get_user_model()(username=username, **fields)
    _user_clean(user, password=password)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    _role_set(user, role)
    return user


@transaction.atomic
def user_update(*, user, data: dict, by):
    """Change a user: their fields, role (``role``, None: no role) and password.

    Deactivating (``is_active`` False) and a new password revoke the user's API tokens
    (accounts.receivers, as from every path). Admins cannot lock themselves out.
    """
    data = dict(data)
    unknown = set(data) - {*USER_FIELDS, "role", "password"}
    if unknown:
        raise TypeError(f"user_update() got unknown fields: {sorted(unknown)}")
    if user.pk == by.pk and (
        data.get("is_active") is False or ("role" in data and data["role"] != "admin")
    ):
        raise ValidationError({"is_active" if "is_active" in data else "role": NOT_YOURSELF})
    password = data.pop("password", None)
    role_given, role = "role" in data, data.pop("role", None)
    for field, value in data.items():
        setattr(user, field, value)
    _user_clean(user, password=password)
    if password is not None:
        user.set_password(password)
    user.save()
    if role_given:
        _role_set(user, role)
    return user


def user_deactivate(*, user, by):
    """Deactivate (never delete: their interactions and facts name them); tokens revoked."""
    return user_update(user=user, data={"is_active": False}, by=by)


# --- Availability for the support queue's automatic assignment (interactions.assignment) ----


def staff_availability_set(*, user, available: bool) -> StaffAvailability:
    """The person says whether they take new items (away: on leave, in a meeting)."""
    row, _ = StaffAvailability.objects.update_or_create(
        user=user, defaults={"available": available, "changed_at": timezone.now()}
    )
    return row


def staff_notice_emails_set(*, user, on: bool) -> StaffAvailability:
    """The person chooses whether escalation notices also come by e-mail."""
    row, _ = StaffAvailability.objects.update_or_create(user=user, defaults={"notice_emails": on})
    return row


def staff_assigned_mark(*, user_id: int, at) -> None:
    """The person was just given an item: round-robin's turn moves on."""
    StaffAvailability.objects.update_or_create(user_id=user_id, defaults={"last_assigned_at": at})
