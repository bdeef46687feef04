"""Signing a customer in without a password (docs/portal.md).

The customer types an address; if it belongs to exactly one customer, a task mails them a
link. The task makes the token itself, so the clear token exists only in the message: not in
the database (its sha256 only), not in the broker. The link is short-lived
(`PORTAL_SIGN_IN_MINUTES`) and single-use. The customer session is the key
`portal_customer_id` of the Django session, never `request.user`: staff views and the API read
only `request.user`, so a customer session reaches none of them.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from customers.models import Customer

from .models import PortalAccount, PortalSignInToken

SESSION_KEY = "portal_customer_id"


class SignInLinkInvalid(Exception):
    """The link is not one we sent."""


class SignInLinkSpent(SignInLinkInvalid):
    """The link was genuine but it expired or was used already."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def portal_sign_in_issue(*, customer_id: int, address: str) -> str:
    """Store a new link's hash and return its clear token (only the message carries it)."""
    token = secrets.token_urlsafe(32)
    link = PortalSignInToken(
        customer_id=customer_id,
        token_hash=token_hash(token),
        sent_to=address,
        expires_at=timezone.now() + timedelta(minutes=settings.PORTAL_SIGN_IN_MINUTES),
    )
    link.full_clean()
    link.save()
    return token


def portal_sign_in_link(*, token: str) -> PortalSignInToken:
    """The stored link of a token, still usable; raises SignInLinkInvalid / SignInLinkSpent."""
    link = (
        PortalSignInToken.objects.select_related("customer")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if link is None:
        raise SignInLinkInvalid("This sign-in link is not valid.")
    if link.used_at is not None:
        raise SignInLinkSpent("This sign-in link was used already: each link works once.")
    if link.expires_at <= timezone.now():
        raise SignInLinkSpent("This sign-in link has expired.")
    return link


@transaction.atomic
def portal_sign_in_redeem(*, token: str) -> Customer:
    """Use the link once: of two requests with the same token, one signs in."""
    link = portal_sign_in_link(token=token)
    link = PortalSignInToken.objects.select_for_update().get(pk=link.pk)
    if link.used_at is not None:
        raise SignInLinkSpent("This sign-in link was used already: each link works once.")
    now = timezone.now()
    if link.expires_at <= now:
        raise SignInLinkSpent("This sign-in link has expired.")
    link.used_at = now
    link.save(update_fields=["used_at"])
    account, _ = PortalAccount.objects.get_or_create(customer_id=link.customer_id)
    account.last_signed_in_at = now
    account.save(update_fields=["last_signed_in_at"])
    return Customer.objects.get(pk=link.customer_id)


def portal_session_start(request, customer: Customer) -> None:
    """A fresh session holding the customer alone (whoever was signed in here is not)."""
    request.session.flush()
    request.session[SESSION_KEY] = customer.pk
    request.user = AnonymousUser()


def portal_session_customer(request) -> Customer | None:
    customer_id = request.session.get(SESSION_KEY)
    if not isinstance(customer_id, int):
        return None
    # An erased customer has no preference centre and no portal.
    return Customer.objects.filter(pk=customer_id, preference_link_version__isnull=False).first()


def portal_session_end_on_staff_login(sender, request=None, **kwargs) -> None:
    """Django's login keeps the session's data: a staff sign-in in a browser where a customer
    was signed in ends the customer's session, so one session is never both."""
    if request is not None and hasattr(request, "session"):
        request.session.pop(SESSION_KEY, None)
