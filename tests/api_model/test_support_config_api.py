"""Channel costs and service-level targets through the API: staff read (support without the
costs: core.money), admins write, with the admin's effects and no more."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from interactions.models import ChannelCost, ServiceLevelTarget
from valuation.models import CustomerSummary

from ..valuation.history import log_contact

pytestmark = pytest.mark.django_db


def test_support_reads_the_channels_but_not_what_they_cost(api, ada, alice, charlie):
    # The migration's defaults (an admin adjusts them)
    ChannelCost.objects.exclude(channel="phone").delete()
    phone = ChannelCost.objects.get(channel="phone")
    as_admin = api(ada).get("/api/channel-costs/").json()["results"]
    as_manager = api(alice).get("/api/channel-costs/").json()["results"]
    as_support = api(charlie).get("/api/channel-costs/").json()["results"]
    assert (
        as_admin
        == as_manager
        == [{"id": phone.pk, "channel": "phone", "cost_per_interaction": "6.00"}]
    )
    assert as_support == [{"id": phone.pk, "channel": "phone"}]
    assert "cost_per_interaction" not in api(charlie).get(f"/api/channel-costs/{phone.pk}/").json()


def test_only_admins_set_costs_and_bad_input_names_the_field(api, ada, alice, charlie):
    ChannelCost.objects.filter(channel="email").delete()
    body = {"channel": "email", "cost_per_interaction": "1.20"}
    assert api(alice).post("/api/channel-costs/", body, format="json").status_code == 403
    assert api(charlie).post("/api/channel-costs/", body, format="json").status_code == 403
    created = api(ada).post("/api/channel-costs/", body, format="json")
    assert created.status_code == 201, created.json()
    twice = api(ada).post("/api/channel-costs/", body, format="json")
    negative = api(ada).patch(
        f"/api/channel-costs/{created.json()['id']}/", {"cost_per_interaction": "-1"}, format="json"
    )
    unknown = api(ada).post(
        "/api/channel-costs/", {"channel": "pigeon", "cost_per_interaction": "1"}, format="json"
    )
    assert (twice.status_code, list(twice.json())) == (400, ["channel"])
    assert (negative.status_code, list(negative.json())) == (400, ["cost_per_interaction"])
    assert (unknown.status_code, list(unknown.json())) == (400, ["channel"])


def test_a_new_cost_applies_to_contacts_from_then_on_as_in_the_admin(api, ada, alices_customer):
    # Given a phone contact folded at 4.00
    cost = ChannelCost.objects.get(channel="phone")
    cost.cost_per_interaction = Decimal("4.00")
    cost.save()
    log_contact(alices_customer, days_ago=2)
    # When the admin sets the phone to 10.00 and another contact is logged
    response = api(ada).patch(
        f"/api/channel-costs/{cost.pk}/", {"cost_per_interaction": "10.00"}, format="json"
    )
    assert response.status_code == 200
    log_contact(alices_customer, days_ago=1)
    # Then the earlier contact keeps its cost and the new one costs the new amount
    summary = CustomerSummary.objects.get(customer=alices_customer)
    assert summary.cost_to_serve_total == Decimal("14.00")
    # And removing the row makes the channel free
    assert api(ada).delete(f"/api/channel-costs/{cost.pk}/").status_code == 204
    log_contact(alices_customer, days_ago=0.5)
    summary.refresh_from_db()
    assert summary.cost_to_serve_total == Decimal("14.00")


def test_a_changed_target_moves_every_open_items_due_time_at_once(api, ada, alice, charlie):
    from ..factories import CustomerFactory

    customer = CustomerFactory(owner=alice)
    item = log_contact(customer, days_ago=0, requires_response=True)
    # The default: 24 h for an inquiry on any channel
    due = api(charlie).get(f"/api/interactions/{item.pk}/").json()["response_due_at"]

    specific = api(ada).post(
        "/api/service-level-targets/",
        {"type": "inquiry", "channel": "phone", "first_response_hours": 2},
        format="json",
    )
    due_after = api(charlie).get(f"/api/interactions/{item.pk}/").json()["response_due_at"]

    assert specific.status_code == 201
    assert due_after < due
    expected = item.occurred_at + timedelta(hours=2)
    assert abs(timezone.datetime.fromisoformat(due_after) - expected) < timedelta(seconds=1)
    # The same type and channel twice, and hours out of bounds, are refused by field
    twice = api(ada).post(
        "/api/service-level-targets/",
        {"type": "inquiry", "channel": "phone", "first_response_hours": 3},
        format="json",
    )
    zero = api(ada).patch(
        f"/api/service-level-targets/{specific.json()['id']}/",
        {"first_response_hours": 0},
        format="json",
    )
    assert twice.status_code == 400, twice.json()
    assert (zero.status_code, list(zero.json())) == (400, ["first_response_hours"])
    assert (
        api(alice).delete(f"/api/service-level-targets/{specific.json()['id']}/").status_code == 403
    )
    assert (
        api(ada).delete(f"/api/service-level-targets/{specific.json()['id']}/").status_code == 204
    )
    assert ServiceLevelTarget.objects.filter(type="inquiry").count() == 1
