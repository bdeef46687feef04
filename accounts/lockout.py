"""What django-axes counts sign-in failures by (AXES_LOCKOUT_PARAMETERS).

Failures are counted per (username, client address): someone guessing alice's password from
elsewhere locks only themselves out, never alice. A client address that has failed for any
usernames LOGIN_FAILURE_LIMIT_PER_IP times within the cool-off is locked as a whole, so a
guesser cannot go round the per-username limit by trying many usernames. The client address
is the one core.middleware.ClientAddressMiddleware resolved (trusted proxies only).
"""

from axes.attempts import get_cool_off_threshold
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

PER_USERNAME = [["username", "ip_address"]]
PER_ADDRESS = ["ip_address"]


def sign_in_failures_from_address(*, ip_address: str | None, request) -> int:
    if not ip_address:
        return 0
    attempts = AccessAttempt.objects.filter(
        ip_address=ip_address, attempt_time__gte=get_cool_off_threshold(request)
    )
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def sign_in_lockout_parameters(request_or_attempt, credentials=None) -> list:
    ip_address = getattr(request_or_attempt, "axes_ip_address", None)
    if ip_address is None or getattr(request_or_attempt, "axes_attempt_time", None) is None:
        return PER_USERNAME  # an AccessAttempt (the admin) or a request axes has not seen
    failures = sign_in_failures_from_address(ip_address=ip_address, request=request_or_attempt)
    if failures >= settings.LOGIN_FAILURE_LIMIT_PER_IP:
        return PER_ADDRESS
    return PER_USERNAME


def sign_in_client_address(request) -> str | None:
    """The client address axes records: REMOTE_ADDR as ClientAddressMiddleware left it (axes
    would otherwise believe X-Forwarded-For from anyone, if django-ipware were installed)."""
    return request.META.get("REMOTE_ADDR") or None
