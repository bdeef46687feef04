"""The sign-in throttle of POST /api/auth/token/ (DRF's ObtainAuthToken has none)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class SignInRateThrottle(SimpleRateThrottle):
    """API_THROTTLE_SIGN_IN requests per client address (REMOTE_ADDR, which
    core.middleware.ClientAddressMiddleware resolves behind trusted proxies), whoever they
    claim to be: guessing many usernames from one place is slowed as much as one."""

    scope = "sign_in"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_SIGN_IN

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
