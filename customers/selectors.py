"""Reads of customers, scoped to what the asking user may see (SPEC §2)."""

from datetime import timedelta

from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.utils import timezone

from accounts.roles import Role, role_of

from .models import Customer, ValueTier


def customers_visible_to(user) -> QuerySet[Customer]:
    """Customers whose profile the user may open: managers their own portfolio, others all."""
    role = role_of(user)
    customers = Customer.objects.select_related("owner")
    if role in (Role.ADMIN, Role.SUPPORT):
        return customers
    if role == Role.MANAGER:
        return customers.filter(owner=user)
    return customers.none()


def customers_editable_by(user) -> QuerySet[Customer]:
    role = role_of(user)
    if role == Role.ADMIN:
        return Customer.objects.all()
    if role == Role.MANAGER:
        return Customer.objects.filter(owner=user)
    return Customer.objects.none()


def customer_search(*, customers: QuerySet[Customer], query: str) -> QuerySet[Customer]:
    query = query.strip()
    if not query:
        return customers
    return customers.filter(
        Q(name__icontains=query) | Q(email__icontains=query) | Q(external_ref__iexact=query)
    )


def customer_portfolio(*, manager, filters: dict | None = None) -> QuerySet[Customer]:
    filters = filters or {}
    customers = Customer.objects.filter(owner=manager)
    if filters.get("status"):
        customers = customers.filter(status=filters["status"])
    if filters.get("tier"):
        customers = customers.filter(tier=filters["tier"])
    return customer_search(customers=customers, query=filters.get("search", ""))


def customers_with_stale_figures(*, older_than: timedelta) -> QuerySet[Customer]:
    """Customers whose figures lag their data for longer than a recompute normally takes."""
    cutoff = timezone.now() - older_than
    return Customer.objects.filter(
        figures_computed_version__lt=F("figures_version"), figures_requested_at__lt=cutoff
    )


def customers_figures_lag(*, older_than: timedelta) -> dict:
    """How far the figures lag: customers waiting longer than `older_than`, and the oldest wait.

    `oldest_pending_seconds` counts every pending recompute (None when nothing is pending).
    """
    now = timezone.now()
    pending = Customer.objects.filter(figures_computed_version__lt=F("figures_version"))
    oldest = pending.aggregate(oldest=Min("figures_requested_at"))["oldest"]
    return {
        "lagging": pending.filter(figures_requested_at__lt=now - older_than).count(),
        "oldest_pending_seconds": None if oldest is None else int((now - oldest).total_seconds()),
    }


def scoped_to_customers(
    queryset: QuerySet,
    field: str = "customer_id",
    *,
    customer_ids=None,
    id_range: tuple[int, int] | None = None,
) -> QuerySet:
    """Rows of the given customers (ids), or of the customers whose id lies in `id_range`
    (first, last, both included: the nightly recompute's chunks); all rows when neither."""
    if customer_ids is not None:
        queryset = queryset.filter(**{f"{field}__in": customer_ids})
    if id_range is not None:
        first, last = id_range
        queryset = queryset.filter(**{f"{field}__gte": first, f"{field}__lte": last})
    return queryset


def customers_visible_to_all() -> QuerySet[Customer]:
    """The whole base, for duplicate checks that reveal only names and owners."""
    return Customer.objects.all()


def portfolio_totals(*, manager) -> dict:
    """Customer equity (sum of predicted CLV) and customers per tier, in one query."""
    tiers = {f"tier_{value}": Count("id", filter=Q(tier=value)) for value in ValueTier.values}
    return Customer.objects.filter(owner=manager).aggregate(
        customers=Count("id"),
        customer_equity=Sum("predicted_clv"),
        interactions=Sum("interaction_count"),
        **tiers,
    )
