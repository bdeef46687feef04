"""Writes of the customer's side (docs/architecture.md).

What the customer states in the preference centre is recorded as a *teaching* interaction on
the web channel, so it feeds the same learning loop as anything staff log (SPEC §4), and every
fact as stated by the customer (`FactSource.CUSTOMER`, no staff user), whoever's browser posts
it. Nothing money-related (core.money) is shown or changed through it.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from customers.facts import FactInput
from customers.models import Customer, FactSource
from customers.preference_links import customer_preferences_record, preference_fact_keys
from interactions.choices import Channel, Direction, InteractionType
from interactions.models import Interaction
from interactions.services import interaction_log

SUBJECT = "Preferences stated in the preference centre"


@transaction.atomic
def customer_preferences_submit(
    *,
    customer: Customer,
    preferred_channel: str,
    consents: dict[str, bool],
    facts: list[FactInput],
) -> Interaction:
    """Record what the customer stated about themself, in one transaction."""
    allowed = set(
        preference_fact_keys().filter(key__in=[f.key for f in facts]).values_list("key", flat=True)
    )
    refused = [fact.key for fact in facts if fact.key not in allowed]
    if refused:
        raise ValidationError({"facts": f"Not stated in the preference centre: {refused}."})
    # Checks the link again under the customer's lock (LinkWithdrawn stores nothing).
    customer_preferences_record(
        customer=customer, preferred_channel=preferred_channel, consents=consents
    )
    return interaction_log(
        customer=customer,
        logged_by=None,
        channel=Channel.WEB,
        direction=Direction.INBOUND,
        type=InteractionType.TEACHING,
        subject=SUBJECT,
        facts=[FactInput(f.key, f.value, f.need_status, source=FactSource.CUSTOMER) for f in facts],
    )
