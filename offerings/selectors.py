"""Reads of the catalog: offerings, their figures and whom they suit (SPEC §3, §5)."""

from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .models import SEGMENT_FIELDS, TIER_FIELDS, UNRANKED_TIERS, Component, Offering


def offerings_with_figures() -> QuerySet[Offering]:
    """Offerings with their bundle cost annotated in SQL (``components_cost``), for lists."""
    cost = (
        Component.objects.filter(offering=OuterRef("pk"))
        .order_by()
        .values("offering")
        .annotate(total=Sum("cost"))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    return Offering.objects.select_related("category").annotate(
        components_cost=Coalesce(Subquery(cost, output_field=money), Value(Decimal("0.00")))
    )


def offerings_orderable() -> QuerySet[Offering]:
    """Offerings that may be ordered anew: active (archived ones never are)."""
    return Offering.objects.filter(active=True, archived_at__isnull=True)


def offering_was_sold(*, offering: Offering) -> bool:
    # Through the reverse relation of interactions' order lines (they name offerings; the
    # catalog imports nothing above it).
    return offering.order_lines.exists()


def offerings_eligible_for(*, customer, tier: str | None = None, needs=None) -> QuerySet[Offering]:
    """Active offerings that suit the customer's segment, tier and (if given) needs.

    ``tier`` defaults to the customer's own tier when customers carry one; ``needs`` is an
    iterable of categories (or their ids): an offering suits a need it serves (its category)
    or lists among its eligible needs. ``None`` means "do not filter on this".
    """
    offerings = offerings_orderable()
    segment_field = SEGMENT_FIELDS.get(customer.kind)
    if segment_field:
        offerings = offerings.filter(**{segment_field: True})
    tier = tier or getattr(customer, "tier", None) or None
    if tier is not None and tier not in UNRANKED_TIERS:
        if tier not in TIER_FIELDS:
            raise ValueError(f"unknown tier {tier!r}; expected one of {sorted(TIER_FIELDS)}")
        offerings = offerings.filter(**{TIER_FIELDS[tier]: True})
    if needs is not None:
        need_ids = [getattr(need, "pk", need) for need in needs]
        matching = Offering.objects.filter(
            Q(category_id__in=need_ids) | Q(eligible_needs__in=need_ids)
        ).values("pk")
        offerings = offerings.filter(pk__in=matching)
    return offerings.select_related("category")


def category_uses(*, category) -> list[str]:
    """What still refers to a category, in words ("2 offering(s)"); empty when nothing does.
    Fact keys name it through their reverse relation (customers sits below the catalog)."""
    counts = {
        "offering(s) serving it": category.offerings.count(),
        "offering(s) suiting it": category.suited_offerings.count(),
        "need(s) of the fact vocabulary": category.fact_keys.count(),
    }
    return [f"{count} {what}" for what, count in counts.items() if count]
