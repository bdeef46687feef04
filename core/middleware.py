"""Request plumbing shared by every app: the client's address behind trusted proxies, no
caching of what a signed-in user sees, and input the database cannot hold refused before any
view, form or library sees it.

PostgreSQL cannot store a NUL character in text (``ValueError: A string literal cannot contain
NUL``): a NUL in a query string or a form field reached the database through every list filter
that reads ``request.GET`` directly, and through django-axes, which looks up the username of a
failed sign-in before the form validates it. Here, in one place, every query-string and form
parameter (names, values and uploaded file names) is checked; the request answers 400 naming
the parameter: JSON under /api/ (as DRF reports a field), a page elsewhere. JSON bodies are
checked by the API's parser (core.parsers).
"""

from collections.abc import Callable
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.cache import patch_cache_control

API_PREFIX = "/api/"
NUL_MESSAGE = "Null characters are not allowed."


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


def unstorable_parameter(params) -> str | None:
    """The name of the first parameter whose name or value holds a NUL, or None."""
    for name, values in params.lists():
        if "\x00" in name:
            return name.replace("\x00", "\\x00")
        if any("\x00" in (getattr(value, "name", value) or "") for value in values):
            return name
    return None


class RefuseUnstorableInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            name = unstorable_parameter(request.GET)
            if name is None and request.method == "POST":
                name = unstorable_parameter(request.POST) or unstorable_parameter(request.FILES)
        except MultiPartParserError as error:
            return self.refuse(request, None, f"The form data could not be read: {error}")
        if name is not None:
            return self.refuse(request, name, NUL_MESSAGE)
        return self.get_response(request)

    def refuse(self, request, name: str | None, message: str):
        if request.path.startswith(API_PREFIX):
            body = {name: [message]} if name else {"detail": message}
            return JsonResponse(body, status=400)
        reason = f"The “{name}” parameter is not valid: {message}" if name else message
        return render(request, "errors/bad_input.html", {"reason": reason}, status=400)
