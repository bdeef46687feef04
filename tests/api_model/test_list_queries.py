"""Fixed query counts on the model API's lists: 3 rows or 30 cost the same queries."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from customers.models import FactKey
from interactions.choices import Channel, InteractionType
from interactions.models import ChannelCost, ServiceLevelTarget
from offerings.models import Category, Partner
from replenishment.models import ReplenishmentSubscription
from replenishment.services import replenishment_subscribe

from ..factories import CustomerFactory, OfferingFactory, UserFactory

pytestmark = pytest.mark.django_db

MAX_QUERIES = 8
User = get_user_model()


def grow(path: str, n: int, *, alice) -> None:
    """Up to ``n`` rows of what ``path`` lists (counting rows already there)."""
    if path == "/api/categories/":
        for i in range(Category.objects.count(), n):
            Category.objects.create(name=f"Category {i}")
    elif path == "/api/partners/":
        for i in range(Partner.objects.count(), n):
            Partner.objects.create(name=f"Partner {i}")
    elif path == "/api/fact-keys/":
        FactKey.objects.exclude(pk__in=FactKey.objects.order_by("pk")[:n].values("pk")).delete()
        for i in range(FactKey.objects.count(), n):
            FactKey.objects.create(key=f"key_{i}", label=f"Key {i}")
    elif path == "/api/channel-costs/":
        ChannelCost.objects.all().delete()
        for channel in Channel.values[:n]:
            ChannelCost.objects.create(channel=channel, cost_per_interaction=1)
    elif path == "/api/service-level-targets/":
        ServiceLevelTarget.objects.all().delete()
        pairs = [(t, c) for t in InteractionType.values for c in ["", *Channel.values]]
        for type_, channel in pairs[:n]:
            ServiceLevelTarget.objects.create(type=type_, channel=channel, first_response_hours=4)
    elif path == "/api/subscriptions/":
        offering = OfferingFactory(replenish_every_days=30)
        for _ in range(ReplenishmentSubscription.objects.count(), n):
            replenishment_subscribe(
                customer=CustomerFactory(owner=alice),
                offering=offering,
                next_due=timezone.localdate() + timedelta(days=5),
            )
    elif path == "/api/users/":
        for i in range(User.objects.count(), n):
            user = UserFactory(username=f"manager{i}", role=Role.MANAGER)
            CustomerFactory(owner=user)


def counted(client, path: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.json()
    return len(queries), response.json()["count"]


LISTS = [
    "/api/categories/",
    "/api/partners/",
    "/api/fact-keys/",
    "/api/channel-costs/",
    "/api/service-level-targets/",
    "/api/subscriptions/",
    "/api/users/",
]


# Every list for an admin and for a manager, but the users' list, which only admins reach.
@pytest.mark.parametrize(
    ("path", "role"),
    [
        (path, role)
        for path in LISTS
        for role in ("ada", "alice")
        if (path, role) != ("/api/users/", "alice")
    ],
)
def test_a_list_costs_the_same_queries_for_3_rows_as_for_30(api, ada, alice, path, role):
    client = api({"ada": ada, "alice": alice}[role])
    grow(path, 3, alice=alice)
    client.get(path)  # the user's role and permissions, cached on the user for what follows
    few, few_rows = counted(client, path)
    grow(path, 30, alice=alice)
    many, many_rows = counted(client, path)
    # (nine channels: nine channel costs at most)
    assert (few_rows, many_rows) == (3, 9 if path == "/api/channel-costs/" else 30)
    assert few == many <= MAX_QUERIES
