"""Reads of customers, scoped to what the asking user may see (SPEC §2)."""

from django.db.models import Q, QuerySet

from accounts.roles import Role, role_of

from .models import Customer


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
    """The manager's customers by status and search (the figures' filters: workspace)."""
    filters = filters or {}
    customers = Customer.objects.filter(owner=manager)
    if filters.get("status"):
        customers = customers.filter(status=filters["status"])
    return customer_search(customers=customers, query=filters.get("search", ""))


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
