"""The customer's own preference centre: a signed, expiring link, no account needed.

What the customer states there is recorded as a *teaching* interaction on the web channel, so
it feeds the same learning loop as anything staff log (SPEC §4).
"""

from datetime import timedelta

from django.core import signing
from django.db import transaction

from interactions.choices import Channel, Direction, InteractionType
from interactions.services import interaction_log

from .knowledge import FactInput
from .models import ChannelConsent, Customer

SALT = "crm.customers.preference-centre"
LINK_VALID_FOR = timedelta(days=14)


class LinkInvalid(Exception):
    """The link was tampered with, or it expired."""


def preference_link_token(*, customer: Customer) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(customer.pk))


def preference_link_customer(*, token: str) -> Customer:
    try:
        customer_id = signing.TimestampSigner(salt=SALT).unsign(token, max_age=LINK_VALID_FOR)
    except signing.SignatureExpired as error:
        raise LinkInvalid("This link has expired. Ask us for a new one.") from error
    except signing.BadSignature as error:
        raise LinkInvalid("This link is not valid.") from error
    customer = Customer.objects.filter(pk=int(customer_id)).first()
    if customer is None:
        raise LinkInvalid("This link is not valid.")
    return customer


@transaction.atomic
def customer_preferences_submit(
    *,
    customer: Customer,
    preferred_channel: str,
    consents: dict[str, bool],
    facts: list[FactInput],
):
    """Record what the customer stated about themself, in one transaction."""
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
    return interaction_log(
        customer=customer,
        logged_by=None,
        channel=Channel.WEB,
        direction=Direction.INBOUND,
        type=InteractionType.TEACHING,
        subject="Preferences stated in the preference centre",
        facts=facts,
    )
