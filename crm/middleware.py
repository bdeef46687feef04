"""Request plumbing shared by every app: the client's address behind trusted proxies, and no
caching of what a signed-in user sees."""

from collections.abc import Callable
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]):
    return tuple(ip_network(entry, strict=False) for entry in trusted)


def _parse(address: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(address.strip())
    except ValueError:
        return None


def client_address_resolve(
    *, remote_addr: str, forwarded_for: str, trusted: tuple[str, ...]
) -> str:
    """The address of the client that sent the request.

    X-Forwarded-For is believed only as far as trusted proxies wrote it: starting from the
    peer (REMOTE_ADDR), each hop that is a trusted proxy hands over to the address it says it
    received the request from, right to left; the first untrusted hop is the client. Anything a
    client writes into the header itself lies left of that and is ignored.
    """
    networks = _networks(trusted)

    def is_trusted(address) -> bool:
        return any(address in network for network in networks)

    current = _parse(remote_addr)
    if current is None or not networks:
        return remote_addr
    for hop in reversed([part for part in forwarded_for.split(",") if part.strip()]):
        if not is_trusted(current):
            break
        parsed = _parse(hop)
        if parsed is None:  # a garbled header: stop at the last hop we could read
            break
        current = parsed
    return str(current)


class ClientAddressMiddleware:
    """Put the client's address (see client_address_resolve) in REMOTE_ADDR, first thing, so
    the sign-in lockout (django-axes), the API throttles and the logs all key on the client
    rather than on the proxy in front of every client. Trusted proxies: TRUSTED_PROXIES."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META["REMOTE_ADDR"] = client_address_resolve(
            remote_addr=request.META.get("REMOTE_ADDR", ""),
            forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
            trusted=tuple(settings.TRUSTED_PROXIES),
        )
        return self.get_response(request)


class NoStoreWhenSignedInMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in user (pages and API,
    session or token): what a user may see must not stay in a shared proxy or in the browser's
    cache for the next person at the machine (SPEC §2 hides money from support staff)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # DRF's token authentication sets request.user on this request too.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
