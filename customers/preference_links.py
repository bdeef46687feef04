"""The link to the customer's own preference centre (portal/): signed, expiring, no account.

The link signs the customer's id and their `preference_link_version`: staff issuing a new link
(`customer_preference_link_rotate`) withdraws every older one, erasure withdraws them for good
(the version becomes None). Nothing money-related (core.money) is shown or changed through it.
"""

from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from .choices import Channel
from .models import ChannelConsent, Customer, FactKey

SALT = "crm.customers.preference-centre"
LINK_VALID_FOR = timedelta(days=14)


class LinkInvalid(Exception):
    """The link was tampered with, or it expired."""


class LinkWithdrawn(LinkInvalid):
    """The link was genuine but replaced by a newer one, or withdrawn when the customer's data
    was erased."""

    def __init__(self, message: str = ""):
        super().__init__(
            message
            or "This link is no longer valid: it was replaced by a newer one or withdrawn. "
            "Ask us for a new one."
        )


def preference_link_token(*, customer: Customer) -> str:
    """The signed token of the customer's current link (the customer must have one)."""
    if customer.preference_link_version is None:
        raise LinkWithdrawn("This customer's data was erased: there is no preference centre.")
    return signing.TimestampSigner(salt=SALT).sign(
        f"{customer.pk}.{customer.preference_link_version}"
    )


def preference_link_customer(*, token: str) -> Customer:
    try:
        signed = signing.TimestampSigner(salt=SALT).unsign(token, max_age=LINK_VALID_FOR)
    except signing.SignatureExpired as error:
        raise LinkInvalid("This link has expired. Ask us for a new one.") from error
    except signing.BadSignature as error:
        raise LinkInvalid("This link is not valid.") from error
    # Links issued before versions existed sign the id alone: they are version 0.
    customer_id, _, version = signed.partition(".")
    customer = Customer.objects.filter(pk=int(customer_id)).first()
    if customer is None:
        raise LinkInvalid("This link is not valid.")
    if customer.preference_link_version is None or customer.preference_link_version != int(
        version or 0
    ):
        raise LinkWithdrawn()
    return customer


@transaction.atomic
def customer_preference_link_rotate(*, customer: Customer) -> Customer:
    """Issue a new link for the customer: every link sent before stops working."""
    rotated = Customer.objects.filter(pk=customer.pk, preference_link_version__isnull=False).update(
        preference_link_version=F("preference_link_version") + 1
    )
    if not rotated:
        raise ValidationError("This customer's data was erased: there is no preference centre.")
    customer.refresh_from_db(fields=["preference_link_version"])
    return customer


def preference_fact_keys():
    """What a customer may state about themself: the admin's customer-editable facts, never a
    money fact (core.money)."""
    return FactKey.objects.filter(active=True, customer_editable=True, money=False)


@transaction.atomic
def customer_preferences_record(
    *, customer: Customer, preferred_channel: str, consents: dict[str, bool]
) -> None:
    """Store the preferred channel and consents the customer stated through their link.

    ``customer`` comes from `preference_link_customer`: its link version is checked again
    under the row lock, so a link withdrawn meanwhile (erasure, a new link) stores nothing.
    """
    version = (
        Customer.objects.select_for_update()
        .filter(pk=customer.pk)
        .values_list("preference_link_version", flat=True)
        .first()
    )
    if version is None or version != customer.preference_link_version:
        raise LinkWithdrawn()
    if preferred_channel and preferred_channel != customer.preferred_channel:
        customer.preferred_channel = preferred_channel
        customer.full_clean()
        customer.save(update_fields=["preferred_channel", "updated_at"])
    for channel, granted in consents.items():
        ChannelConsent.objects.update_or_create(
            customer=customer,
            channel=Channel(channel),
            defaults={"granted": granted, "how": "preference centre"},
        )
