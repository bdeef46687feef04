"""Token authentication whose tokens expire (DRF's TokenAuthentication keeps them forever)."""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .services import token_is_expired, token_revoke


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused once the token is older than API_TOKEN_TTL.

    An expired token is deleted on first use; `POST /api/auth/token/` issues a new one.
    """

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_is_expired(token=token):
            token_revoke(user_id=user.pk, reason="expired")
            raise exceptions.AuthenticationFailed("Token has expired; request a new one.")
        return user, token
