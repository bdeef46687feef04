"""Next best offerings (SPEC §5): ranked offerings for a customer and the outcome feedback."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    Q,
    QuerySet,
)
from django.utils import timezone

from customers.models import Customer, CustomerFact, FactKind
from interactions.choices import OfferOutcome
from interactions.models import Interaction, OrderLine
from offerings.models import Offering
from offerings.selectors import (
    offerings_eligible_for,
    offerings_with_figures,
)
from valuation.selectors import customer_figures_of

from ..models import OfferingAffinity

DECLINED_MEMORY_DAYS = 90


@dataclass
class NextBestOffering:
    offering: Offering
    score: float
    reason: str
    share: float
    margin: Decimal
    acceptance: float


def offer_acceptance_rates() -> dict[int, float]:
    """Per offering, the smoothed share of answered offers that were accepted:
    (accepted + 1) / (accepted + declined + 2), so an offering never offered scores 0.5."""
    rows = (
        Interaction.objects.filter(
            offer__isnull=False,
            offer_outcome__in=[OfferOutcome.ACCEPTED, OfferOutcome.DECLINED],
        )
        .order_by()
        .values("offer_id")
        .annotate(
            accepted=Count("id", filter=Q(offer_outcome=OfferOutcome.ACCEPTED)),
            declined=Count("id", filter=Q(offer_outcome=OfferOutcome.DECLINED)),
        )
    )
    return {r["offer_id"]: (r["accepted"] + 1) / (r["accepted"] + r["declined"] + 2) for r in rows}


def customer_open_needs(*, customer_id: int) -> list[int]:
    """Categories of the customer's current needs that we do not meet yet."""
    return list(
        CustomerFact.objects.filter(
            customer_id=customer_id,
            is_current=True,
            key__kind=FactKind.NEED,
            key__category__isnull=False,
        )
        .exclude(need_status="met_by_us")
        .values_list("key__category_id", flat=True)
    )


def customer_open_offers(*, customer_id: int) -> QuerySet[Interaction]:
    """Offers made to the customer whose answer is not recorded yet, newest first."""
    return (
        Interaction.objects.filter(customer_id=customer_id, offer__isnull=False, offer_outcome="")
        .select_related("offer")
        .order_by("-occurred_at", "-id")
    )


def next_best_offerings(*, customer: Customer, limit: int = 5) -> list[NextBestOffering]:
    """Ranked offerings for the customer (SPEC §5), a fixed number of queries.

    Candidates: active offerings eligible for the customer's segment and tier, and for their
    open needs when any are known; not held (ordered) already; not declined in the last 90 days
    and not offered in the last 90 days without an answer yet.

    score = co-occurrence share × expected margin × acceptance rate × P(alive), where the share
    is the highest share over the offerings the customer holds ("held by 38 % of customers who
    hold X"; for a customer holding nothing, the share of all buying customers who hold it),
    the expected margin is the offering's price minus its components' cost (at least 0), the
    acceptance rate is offer_acceptance_rates() (the outcome feedback) and P(alive) the
    customer's (0.5 when unknown).
    """
    held = set(
        OrderLine.objects.filter(interaction__customer_id=customer.pk)
        .order_by()
        .values_list("offering_id", flat=True)
        .distinct()
    )
    since = timezone.now() - timedelta(days=DECLINED_MEMORY_DAYS)
    recently = set(
        Interaction.objects.filter(
            customer_id=customer.pk,
            offer__isnull=False,
            occurred_at__gte=since,
            offer_outcome__in=[OfferOutcome.DECLINED, ""],
        ).values_list("offer_id", flat=True)
    )
    needs = customer_open_needs(customer_id=customer.pk) or None
    own = customer_figures_of(customer)
    eligible = offerings_eligible_for(
        customer=customer, tier=(own.tier if own else "") or None, needs=needs
    ).exclude(pk__in=held | recently)
    figures = {o.pk: o for o in offerings_with_figures().filter(pk__in=eligible.values("pk"))}
    if not figures:
        return []
    best: dict[int, tuple[float, str]] = {}
    if held:
        pairs = (
            OfferingAffinity.objects.filter(offering_id__in=held, other_id__in=list(figures))
            .select_related("offering")
            .order_by("other_id", "-share", "offering__name")
        )
        for pair in pairs:
            if pair.other_id not in best:
                best[pair.other_id] = (
                    pair.share,
                    f"held by {pair.share:.0%} of customers who hold {pair.offering.name}".replace(
                        "%", " %"
                    ),
                )
    else:
        buyers = OrderLine.objects.order_by().values("interaction__customer_id").distinct().count()
        holders = (
            OrderLine.objects.filter(offering_id__in=list(figures))
            .order_by()
            .values("offering_id")
            .annotate(n=Count("interaction__customer_id", distinct=True))
        )
        for row in holders:
            share = row["n"] / buyers if buyers else 0.0
            best[row["offering_id"]] = (
                share,
                f"held by {share:.0%} of our customers".replace("%", " %"),
            )
    acceptance = offer_acceptance_rates()
    p_alive = own.p_alive if own is not None and own.p_alive is not None else 0.5
    ranked = []
    for offering_id, (share, reason) in best.items():
        offering = figures[offering_id]
        margin = max(offering.margin, Decimal("0"))
        rate = acceptance.get(offering_id, 0.5)
        score = share * float(margin) * rate * p_alive
        ranked.append(NextBestOffering(offering, round(score, 4), reason, share, margin, rate))
    ranked.sort(key=lambda n: (-n.score, n.offering.name))
    return ranked[:limit]
