"""seed_demo gives every screen something real to show, and is safe to run twice."""

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count, Max, Min
from django.test import RequestFactory
from django.utils import timezone

from accounts.roles import Role, role_of
from customers.models import Customer, CustomerFact
from dataio.demo import demo_password
from interactions.models import Interaction, OfferingRating, OrderLine
from replenishment.models import ReplenishmentSubscription

pytestmark = pytest.mark.django_db


def test_it_creates_a_believable_business_and_can_run_twice(roles, capsys):
    call_command("seed_demo", customers=120)
    printed = capsys.readouterr().out

    # Users for every role, who can sign in with the printed local-only passwords.
    for username, role in [
        ("admin", Role.ADMIN),
        ("alice", Role.MANAGER),
        ("charlie", Role.SUPPORT),
    ]:
        assert demo_password(username) in printed
        # A sign-in always has a request (django-axes checks it for lockouts).
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, username=username, password=demo_password(username))
        assert role_of(user) == role

    # Customers spread over the managers' portfolios, in every lifecycle stage.
    per_owner = (
        Customer.objects.filter(needs_triage=False)
        .values("owner__username")
        .annotate(n=Count("id"))
    )
    assert {row["owner__username"] for row in per_owner} == {"alice", "bob", "dana"}
    # The sample mail's stranger waits for triage, in nobody's portfolio yet.
    assert Customer.objects.filter(needs_triage=True, owner=None).count() == 1
    assert set(Customer.objects.values_list("status", flat=True)) >= {
        "prospect",
        "active",
        "lapsed",
    }

    # Years of history with repeat purchases, complaints and open inquiries.
    span = Interaction.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    assert span["last"] - span["first"] > timedelta(days=365)
    repeat_buyers = (
        Interaction.objects.filter(type="order")
        .values("customer")
        .annotate(n=Count("id"))
        .filter(n__gte=3)
        .count()
    )
    assert repeat_buyers >= 10
    assert Interaction.objects.filter(type="complaint").exists()
    assert Interaction.objects.filter(requires_response=True, resolved_at__isnull=True).exists()
    assert OrderLine.objects.count() >= Interaction.objects.filter(type="order").count()
    assert not Interaction.objects.filter(occurred_at__gt=timezone.now()).exists()

    # Figures are computed for everyone, without one task per customer.
    assert not Customer.objects.filter(figures__computed_at__isnull=True).exists()
    busiest = Customer.objects.order_by("-figures__interaction_count").first()
    assert busiest.figures.interaction_count == busiest.interactions.count()

    # What customers taught us, their ratings and subscriptions, for every screen to show.
    assert CustomerFact.objects.filter(key__kind="need", need_status="met_by_us").exists()
    assert OfferingRating.objects.exists()
    assert ReplenishmentSubscription.objects.exists()
    assert Customer.objects.filter(figures__share_of_needs__isnull=False).exists()

    counts = (Customer.objects.count(), Interaction.objects.count(), OrderLine.objects.count())
    call_command("seed_demo", customers=120)
    assert (
        Customer.objects.count(),
        Interaction.objects.count(),
        OrderLine.objects.count(),
    ) == counts
    assert "already exist" in capsys.readouterr().out
