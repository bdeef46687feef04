"""Counting attempts in Django's cache, for pages DRF's throttles do not cover.

`rate_limit_hit(scope=..., ident=..., rate="10/hour")` counts one attempt and says whether it
went past the rate. The window starts at the first attempt and lasts the rate's period (the
cache entry's expiry); with the Redis cache every process counts in one place, with the local
memory cache each process counts apart (a limit per process).
"""

import hashlib

from django.core.cache import cache

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/hour" → (10, 3600)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip()]


def rate_limit_hit(*, scope: str, ident: str, rate: str) -> bool:
    """Count one attempt of ``ident`` (a link, an address) in ``scope``; True past the rate."""
    limit, seconds = parse_rate(rate)
    key = f"ratelimit:{scope}:{hashlib.sha256(ident.encode()).hexdigest()}"
    cache.add(key, 0, timeout=seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        count = 1
    return count > limit


def client_address(request) -> str:
    """The address the request came from, as the web server saw it."""
    return request.META.get("REMOTE_ADDR", "")
