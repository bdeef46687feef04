"""Replenishment subscriptions through the API: scoped like customers, changed by the
customer's manager and admins, each change a `subscription.changed` event that moves the
customer's next due action."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.models import Event
from offerings.services import offering_archive
from replenishment.models import ReplenishmentSubscription
from replenishment.services import replenishment_subscribe
from workspace.models import CustomerAgenda

from ..factories import OfferingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coffee():
    return OfferingFactory(name="Beans", replenish_every_days=30)


@pytest.fixture
def subscription(alices_customer, coffee):
    return replenishment_subscribe(
        customer=alices_customer,
        offering=coffee,
        next_due=timezone.localdate() + timedelta(days=10),
    )


def changes(subscription) -> list[dict]:
    return list(
        Event.objects.filter(name="subscription.changed", customer_id=subscription.customer_id)
        .order_by("id")
        .values_list("payload", flat=True)
    )


def test_managers_see_their_portfolios_subscriptions_support_and_admins_all(
    api, ada, alice, bob, charlie, subscription
):
    for user, seen in ((ada, 1), (alice, 1), (bob, 0), (charlie, 1)):
        assert api(user).get("/api/subscriptions/").json()["count"] == seen, user
    path = f"/api/subscriptions/{subscription.pk}/"
    missing = f"/api/subscriptions/{subscription.pk + 1000}/"
    assert api(bob).get(path).status_code == 404
    assert api(bob).get(path).json() == api(bob).get(missing).json()
    assert api(bob).post(f"{path}pause/").json() == api(bob).post(f"{missing}pause/").json()
    body = api(charlie).get(path).json()
    assert {k: body[k] for k in ("offering_name", "interval_days", "status")} == {
        "offering_name": "Beans",
        "interval_days": 30,
        "status": "active",
    }


def test_a_manager_subscribes_their_customer_and_not_another_portfolios(
    api, alice, bob, charlie, alices_customer, coffee
):
    body = {
        "customer": alices_customer.pk,
        "offering": coffee.pk,
        "next_due": (timezone.localdate() + timedelta(days=3)).isoformat(),
        "quantity": "2",
    }
    by_bob = api(bob).post("/api/subscriptions/", body, format="json")
    by_charlie = api(charlie).post("/api/subscriptions/", body, format="json")
    created = api(alice).post("/api/subscriptions/", body, format="json")

    assert (by_bob.status_code, by_bob.json()) == (400, {"customer": ["No such customer."]})
    assert by_charlie.status_code == 403
    assert created.status_code == 201, created.json()
    assert created.json()["interval_days"] == 30  # the offering's rhythm
    assert created.json()["quantity"] == "2.00"
    assert CustomerAgenda.objects.get(customer=alices_customer).next_due_on == (
        timezone.localdate() + timedelta(days=3)
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"offering": 0}, "offering"),
        ({"next_due": "10000-01-01"}, "next_due"),
        ({"next_due": "1850-01-01"}, "next_due"),
        ({"interval_days": 0}, "interval_days"),
        ({"quantity": "0"}, "quantity"),
        ({"mode": "teleport"}, "mode"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(api, alice, alices_customer, coffee, change, field):
    body = {
        "customer": alices_customer.pk,
        "offering": coffee.pk,
        "next_due": timezone.localdate().isoformat(),
        **change,
    }
    response = api(alice).post("/api/subscriptions/", body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()


def test_it_refuses_an_offering_off_sale(api, alice, alices_customer, coffee):
    offering_archive(offering=coffee)
    response = api(alice).post(
        "/api/subscriptions/",
        {"customer": alices_customer.pk, "offering": coffee.pk, "next_due": "2030-01-01"},
        format="json",
    )
    assert response.status_code == 400 and list(response.json()) == ["offering"]


def test_pause_resume_skip_interval_and_cancel_each_announce_the_change(
    api, alice, charlie, subscription
):
    path = f"/api/subscriptions/{subscription.pk}"
    due = subscription.next_due
    assert api(charlie).post(f"{path}/pause/").status_code == 403
    before = len(changes(subscription))

    paused = api(alice).post(f"{path}/pause/")
    paused_again = api(alice).post(f"{path}/pause/")
    resumed = api(alice).post(f"{path}/resume/")
    skipped = api(alice).post(f"{path}/skip/")
    every_two_weeks = api(alice).post(f"{path}/interval/", {"interval_days": 14}, format="json")
    cancelled = api(alice).post(f"{path}/cancel/")

    assert paused.json()["status"] == "paused"
    assert paused_again.status_code == 200  # already paused: nothing changes
    assert resumed.json()["status"] == "active"
    assert skipped.json()["next_due"] == (due + timedelta(days=30)).isoformat()
    assert every_two_weeks.json()["interval_days"] == 14
    assert every_two_weeks.json()["next_due"] == skipped.json()["next_due"]
    assert cancelled.json()["status"] == "cancelled"
    # One event per change (none for the pause that changed nothing)
    assert [(p["status"], p.get("changed")) for p in changes(subscription)[before:]] == [
        ("paused", None),
        ("active", None),
        ("active", ["next_due"]),
        ("active", ["interval_days"]),
        ("cancelled", None),
    ]
    # And once cancelled it is no longer the customer's next due action
    assert CustomerAgenda.objects.get(customer_id=subscription.customer_id).next_due_on is None


def test_the_agenda_follows_a_skipped_delivery(api, alice, subscription):
    agenda = CustomerAgenda.objects.get(customer_id=subscription.customer_id)
    assert agenda.next_due_on == subscription.next_due
    api(alice).post(f"/api/subscriptions/{subscription.pk}/skip/")
    agenda.refresh_from_db()
    assert agenda.next_due_on == subscription.next_due + timedelta(days=30)


def test_a_cancelled_subscription_stays_cancelled(api, ada, subscription):
    path = f"/api/subscriptions/{subscription.pk}"
    api(ada).post(f"{path}/cancel/")
    for action in ("resume", "pause", "skip"):
        response = api(ada).post(f"{path}/{action}/")
        assert response.status_code == 400, action
        assert list(response.json()) == ["status"]
    interval = api(ada).post(f"{path}/interval/", {"interval_days": 7}, format="json")
    assert interval.status_code == 400
    subscription.refresh_from_db()
    assert (subscription.status, subscription.interval_days) == ("cancelled", 30)


def test_it_refuses_resuming_a_subscription_to_an_offering_off_sale(api, ada, subscription):
    offering_archive(offering=subscription.offering)  # pauses it
    response = api(ada).post(f"/api/subscriptions/{subscription.pk}/resume/")
    assert response.status_code == 400 and list(response.json()) == ["status"]
    assert ReplenishmentSubscription.objects.get(pk=subscription.pk).status == "paused"


def test_an_interval_out_of_bounds_names_the_field(api, ada, subscription):
    for value in (0, 10**9, "x"):
        response = api(ada).post(
            f"/api/subscriptions/{subscription.pk}/interval/",
            {"interval_days": value},
            format="json",
        )
        assert response.status_code == 400 and list(response.json()) == ["interval_days"]
    assert Decimal(api(ada).get(f"/api/subscriptions/{subscription.pk}/").json()["quantity"]) == 1
