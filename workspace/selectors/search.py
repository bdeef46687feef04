"""The global search (`/search/`, SPEC §2) and the read-only card of a customer found there.

Customers of every portfolio by name, e-mail (any of their addresses) and phone
(customers.selectors.customer_search_everywhere), interactions among those the user may see
(interactions.selectors.interaction_search). Each group is one count and one page of rows,
whatever the number of matches: the owner and the figures are joined, never fetched per row.
"""

from django.db.models import QuerySet

from accounts.roles import Role, role_of
from customers.models import Customer
from customers.selectors import customer_search_everywhere, customers_visible_to_all
from interactions.models import Interaction
from interactions.selectors import interaction_search

# What a search result or a card shows of a customer: never money (the card is open to
# managers of other portfolios and to support staff).
CARD_FIELDS = (
    "name",
    "kind",
    "status",
    "email",
    "phone",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "figures__tier",
    "figures__last_contact_at",
)
STAFF = (Role.ADMIN, Role.MANAGER, Role.SUPPORT)


def search_customers(*, user, query: str) -> QuerySet[Customer]:
    """Matching customers of every portfolio, by name, with their owner and tier (for staff:
    customer accounts find nobody)."""
    if role_of(user) not in STAFF:
        return Customer.objects.none()
    return (
        customer_search_everywhere(viewer=user, query=query)
        .select_related("owner", "figures")
        .only(*CARD_FIELDS)
        .order_by("name", "id")
    )


def search_interactions(*, user, query: str) -> QuerySet[Interaction]:
    """Interactions the user may see whose subject or notes hold `query`, newest first."""
    if not query.strip():
        return Interaction.objects.none()
    return interaction_search(user=user, filters={"q": query})


def customer_cards_for(user) -> QuerySet[Customer]:
    """Customers whose read-only card the user may open: every staff member sees every
    customer's card (it holds nothing a manager of another portfolio may not know); the
    full page keeps its own rules (customers_visible_to)."""
    if role_of(user) not in STAFF:
        return Customer.objects.none()
    return customers_visible_to_all().select_related("owner", "figures").only(*CARD_FIELDS)
