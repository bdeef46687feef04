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
from replenishment.models import ReplenishmentSubscription, SubscriptionStatus
from replenishment.services import (
    replenishment_interval_change,
    replenishment_set_status,
    replenishment_skip_next,
)

from .ideas import ideas_customer_merge
from .models import PortalAccount, PortalSignInToken, Review, ReviewReport

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


# --- Replenishment subscriptions, changed by the customer in the portal ----------------------

SUBSCRIPTION_ACTIONS = {
    "pause": "paused",
    "resume": "resumed",
    "skip": "skipped the next delivery of",
    "interval": "changed how often they receive",
}


@transaction.atomic
def portal_subscription_change(
    *,
    customer: Customer,
    subscription: ReplenishmentSubscription,
    action: str,
    interval_days: int | None = None,
) -> Interaction:
    """Pause, resume, skip the next delivery or change the interval of the customer's own
    subscription, through replenishment's services, and log it on the web channel so the
    manager sees the change on the customer's timeline."""
    if subscription.customer_id != customer.pk:
        raise ValidationError("This subscription is not yours.")
    before = subscription.interval_days
    if action == "pause":
        replenishment_set_status(subscription=subscription, status=SubscriptionStatus.PAUSED)
        notes = ""
    elif action == "resume":
        replenishment_set_status(subscription=subscription, status=SubscriptionStatus.ACTIVE)
        notes = f"Next delivery due {subscription.next_due:%Y-%m-%d}."
    elif action == "skip":
        subscription = replenishment_skip_next(subscription=subscription)
        notes = f"Next delivery now due {subscription.next_due:%Y-%m-%d}."
    elif action == "interval":
        if interval_days is None:
            raise ValidationError({"interval_days": "Say every how many days."})
        subscription = replenishment_interval_change(
            subscription=subscription, interval_days=interval_days
        )
        notes = f"Every {before} days before, every {subscription.interval_days} days now."
    else:
        raise ValidationError({"action": f"Unknown action {action!r}."})
    return interaction_log(
        customer=customer,
        logged_by=None,
        channel=Channel.WEB,
        direction=Direction.INBOUND,
        type=InteractionType.SERVICE,
        subject=f"In the portal, the customer {SUBSCRIPTION_ACTIONS[action]} "
        f"{subscription.offering}"[:200],
        notes=notes,
        requires_response=False,  # done by the customer already: nothing to answer
    )


def portal_customer_merge(*, survivor_id: int, duplicate_id: int) -> dict[str, dict]:
    """In the merge's transaction (portal.handlers): the duplicate's sign-in links become the
    survivor's (the same person asked for them); its portal account moves when the survivor
    has none, else the survivor's is kept (one a customer) with the later sign-in time."""
    links = PortalSignInToken.objects.filter(customer_id=duplicate_id).update(
        customer_id=survivor_id
    )
    theirs = PortalAccount.objects.filter(customer_id=duplicate_id).first()
    account: dict = {"moved": 0}
    if theirs is not None:
        kept = PortalAccount.objects.filter(customer_id=survivor_id).first()
        if kept is None:
            account["moved"] = PortalAccount.objects.filter(pk=theirs.pk).update(
                customer_id=survivor_id
            )
        else:
            if theirs.last_signed_in_at and (
                kept.last_signed_in_at is None or theirs.last_signed_in_at > kept.last_signed_in_at
            ):
                kept.last_signed_in_at = theirs.last_signed_in_at
                kept.save(update_fields=["last_signed_in_at"])
            theirs.delete()
            account = {"dropped": 1, "why": "one portal account a customer: the survivor's kept"}
    # One review a customer and offering: where both reviewed one, the more recent stays.
    moved = dropped = 0
    survivors = {
        review.offering_id: review for review in Review.objects.filter(customer_id=survivor_id)
    }
    for review in Review.objects.filter(customer_id=duplicate_id):
        other = survivors.get(review.offering_id)
        if other is None:
            moved += Review.objects.filter(pk=review.pk).update(customer_id=survivor_id)
        elif review.updated_at > other.updated_at:
            other.delete()
            dropped += 1
            moved += Review.objects.filter(pk=review.pk).update(customer_id=survivor_id)
        else:
            review.delete()
            dropped += 1
    reviews: dict[str, int | str] = {"moved": moved, "dropped": dropped}
    if dropped:
        reviews["why"] = "one review a customer and offering: the more recent kept"
    # One report a customer and review: the survivor's own stands.
    reported = set(
        ReviewReport.objects.filter(customer_id=survivor_id).values_list("review_id", flat=True)
    )
    twice, _ = ReviewReport.objects.filter(
        customer_id=duplicate_id, review_id__in=reported
    ).delete()
    reports: dict[str, int | str] = {
        "moved": ReviewReport.objects.filter(customer_id=duplicate_id).update(
            customer_id=survivor_id
        ),
        "dropped": twice,
    }
    if twice:
        reports["why"] = "one report a customer and review"
    return {
        "portal.PortalSignInToken.customer": {"moved": links},
        "portal.PortalAccount.customer": account,
        "portal.Review.customer": reviews,
        "portal.ReviewReport.customer": reports,
        # Tips, ideas, votes and their reports (portal/ideas.py).
        **ideas_customer_merge(survivor_id=survivor_id, duplicate_id=duplicate_id),
    }
