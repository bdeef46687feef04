"""Writes on sign-in credentials: API tokens are issued here and revoked here.

A token lives API_TOKEN_TTL (accounts.authentication refuses an older one) and is revoked
when its user signs out, is locked out by repeated wrong passwords, changes password or is
deactivated (accounts.apps connects those events to token_revoke).
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

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
