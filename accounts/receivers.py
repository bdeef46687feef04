"""Auth events that revoke a user's API tokens (accounts.services.token_revoke).

Django and django-axes publish these events only as signals, and a password or an active flag
can change through any path (the admin, `manage.py changepassword`, set_password in a
service), so the receivers watch the events themselves and call the service; they decide
nothing else.
"""

from django.conf import settings
from django.contrib.auth import get_user_model

from .services import token_revoke


def on_signed_out(sender, request, user, **kwargs) -> None:
    token_revoke(user_id=getattr(user, "pk", None), reason="signed out")


def on_locked_out(sender, request, username, ip_address, **kwargs) -> None:
    # Only when this username's own limit was reached from this address (someone is guessing
    # its password): a whole address locked for guessing many usernames revokes nothing, or
    # a guesser could revoke anyone's token by naming them.
    from axes.models import AccessAttempt

    failures = sum(
        AccessAttempt.objects.filter(username=username, ip_address=ip_address).values_list(
            "failures_since_start", flat=True
        )
    )
    if failures < settings.LOGIN_FAILURE_LIMIT:
        return
    user = get_user_model().objects.filter(username=username).only("pk").first()
    token_revoke(user_id=getattr(user, "pk", None), reason="locked out")


def on_user_saved(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """pre_save of the user: a new password or a deactivation revokes the tokens."""
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    if before["password"] != instance.password:
        token_revoke(user_id=instance.pk, reason="password changed")
    elif before["is_active"] and not instance.is_active:
        token_revoke(user_id=instance.pk, reason="deactivated")
