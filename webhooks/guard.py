"""The SSRF rule: webhooks go only to public addresses over http or https.

A URL's host is resolved when the endpoint is registered, and again by the connection of
every delivery (`webhooks.sending`), which connects to the very address it checked: a name
that resolved to a public address at registration and to 127.0.0.1 later (DNS rebinding)
is refused at delivery. `WEBHOOKS_ALLOW_PRIVATE=true` lifts the rule (a receiver on this host
or network; the tests).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class TargetRefused(Exception):
    """The target is not a public http(s) address."""


def address_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id is not part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def private_allowed() -> bool:
    return bool(settings.WEBHOOKS_ALLOW_PRIVATE)


def addresses_checked(host: str, port: int) -> list[tuple]:
    """getaddrinfo's answers for host:port, every one of them public (else TargetRefused)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefused(f"{host} does not resolve ({error})") from error
    if not answers:
        raise TargetRefused(f"{host} does not resolve")
    if not private_allowed():
        for *_, sockaddr in answers:
            if not address_public(sockaddr[0]):
                raise TargetRefused(
                    f"{host} resolves to {sockaddr[0]}, a private, loopback, link-local, "
                    "multicast or reserved address"
                )
    return answers


def url_check(url: str) -> None:
    """Refuse a URL that is not http(s) or whose host is not public (TargetRefused)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("only http and https URLs are allowed")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("credentials in the URL are not allowed; use the signature")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise TargetRefused(f"bad port: {error}") from error
    if private_allowed():
        return
    addresses_checked(parts.hostname, port)
