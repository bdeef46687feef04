"""/api/interactions/ and /api/customers/{id}/timeline/ (SPEC §10): filters, offers, PATCH."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from interactions.models import Interaction

from .factories import InteractionFactory, OfferingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sent_tasks(woken):
    return woken


@pytest.fixture
def api():
    def as_user(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return as_user


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def test_it_logs_an_offer_and_shows_it_on_the_customers_timeline(
    api, alice, alices_customer, client
):
    grinder = OfferingFactory(name="Grinder service")
    response = api(alice).post(
        "/api/interactions/",
        {
            "customer": alices_customer.pk,
            "channel": "phone",
            "direction": "outbound",
            "type": "offer",
            "subject": "Offered the grinder service",
            "offer": {"offering": grinder.pk, "outcome": "accepted"},
            "next_step": "Book the technician",
            "next_step_due": "2026-12-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["offer"] == {"offering": grinder.pk, "outcome": "accepted"}
    assert body["response_due_at"] is None

    timeline = api(alice).get(f"/api/customers/{alices_customer.pk}/timeline/").json()
    assert [i["id"] for i in timeline["results"]] == [body["id"]]
    assert timeline["results"][0]["next_step_due"] == "2026-12-01"
    client.force_login(alice)
    page = client.get(f"/customers/{alices_customer.pk}/").content.decode()
    assert "Offered the grinder service" in page


def test_it_names_the_bad_fields_of_an_offer(api, charlie, alices_customer):
    response = api(charlie).post(
        "/api/interactions/",
        {
            "customer": alices_customer.pk,
            "channel": "email",
            "direction": "outbound",
            "type": "offer",
            "subject": "Offer",
            "offer": {"offering": 999999, "outcome": "maybe"},
            "satisfaction": 7,
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"offer.offering", "offer.outcome", "satisfaction"}
    assert not Interaction.objects.exists()


def test_it_filters_the_interaction_list(api, charlie, alices_customer, bobs_customer):
    now = timezone.now()
    old = InteractionFactory(
        customer=alices_customer,
        subject="Old phone",
        channel="phone",
        occurred_at=now - timedelta(days=40),
    )
    open_complaint = InteractionFactory(
        customer=alices_customer, subject="Open", type="complaint", requires_response=True
    )
    InteractionFactory(
        customer=bobs_customer, subject="Closed", type="complaint", requires_response=True,
        resolved_at=now,
    )  # fmt: skip

    def ids(**params):
        return [i["id"] for i in api(charlie).get("/api/interactions/", params).json()["results"]]

    assert ids(customer=alices_customer.pk) == [open_complaint.pk, old.pk]
    assert ids(channel="phone") == [old.pk]
    assert ids(type="complaint", open="true") == [open_complaint.pk]
    assert ids(open="true") == [open_complaint.pk]  # the phone call needed no answer
    assert ids(open="false", customer=alices_customer.pk) == [old.pk]
    assert ids(requires_response="false") == [old.pk]
    assert ids(occurred_before=iso(now - timedelta(days=30))) == [old.pk]
    assert len(ids(occurred_after=iso(now - timedelta(days=1)))) == 2
    assert ids(search="phone") == [old.pk]
    response = api(charlie).get("/api/interactions/", {"channel": "pigeon"})
    assert response.status_code == 400
    assert "channel" in response.json()


def test_it_shows_the_service_level_due_time(api, charlie, alices_customer):
    occurred = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    item = InteractionFactory(
        customer=alices_customer, type="complaint", requires_response=True, occurred_at=occurred
    )
    body = api(charlie).get(f"/api/interactions/{item.pk}/").json()
    assert body["response_due_at"] == iso(occurred + timedelta(hours=4))


@pytest.mark.parametrize(
    ("targets", "type", "channel", "occurred"),
    [
        ({}, "inquiry", "email", "now"),  # no target for the type
        ({("complaint", ""): 4}, "complaint", "phone", "now"),  # "any channel"
        ({("complaint", ""): 4, ("complaint", "phone"): 1}, "complaint", "phone", "now"),
        ({("complaint", ""): 4, ("complaint", "email"): 1}, "complaint", "phone", "now"),
        ({("inquiry", ""): 24 * 366}, "inquiry", "web", "late"),  # near the calendar's end
        ({("inquiry", ""): 24 * 366}, "inquiry", "web", "latest"),
    ],
)
def test_the_reply_to_a_write_gives_the_due_time_the_queue_computes(
    api, charlie, alices_customer, targets, type, channel, occurred
):
    """The POST's reply computes the due time for one row (selectors.response_due_at); the
    queue and every list annotate it in SQL (with_service_level): they must agree."""
    from core import bounds
    from interactions.models import ServiceLevelTarget
    from interactions.selectors import (
        LATEST_SAFE_OCCURRED_AT,
        response_due_at,
        with_service_level,
    )

    ServiceLevelTarget.objects.all().delete()
    for (target_type, target_channel), hours in targets.items():
        ServiceLevelTarget.objects.create(
            type=target_type, channel=target_channel, first_response_hours=hours
        )
    at = {
        "now": timezone.now().replace(microsecond=0),
        "late": LATEST_SAFE_OCCURRED_AT - timedelta(hours=1),
        "latest": bounds.DATETIME_CEILING - timedelta(hours=2),
    }[occurred]
    if occurred != "now":  # a stored item near the calendar's end (the API takes no future)
        item = InteractionFactory(
            customer=alices_customer,
            type=type,
            channel=channel,
            occurred_at=at,
            requires_response=True,
        )
        annotated = (
            with_service_level(Interaction.objects.filter(pk=item.pk))
            .values_list("response_due_at", flat=True)
            .get()
        )
        assert response_due_at(type=type, channel=channel, occurred_at=at) == annotated
        return
    response = api(charlie).post(
        "/api/interactions/",
        {
            "customer": alices_customer.pk,
            "channel": channel,
            "direction": "inbound",
            "type": type,
            "subject": "Where is my parcel?",
            "occurred_at": iso(at),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    annotated = (
        with_service_level(Interaction.objects.filter(pk=response.json()["id"]))
        .values_list("response_due_at", flat=True)
        .get()
    )
    assert response.json()["response_due_at"] == (iso(annotated) if annotated else None)
    assert (
        api(charlie).get(f"/api/interactions/{response.json()['id']}/").json()["response_due_at"]
        == response.json()["response_due_at"]
    )


def test_it_records_response_resolution_and_satisfaction_by_patch(
    api, charlie, alices_customer, sent_tasks, django_capture_on_commit_callbacks
):
    occurred = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    item = InteractionFactory(
        customer=alices_customer, type="complaint", requires_response=True, occurred_at=occurred
    )
    answered = occurred + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(charlie).patch(
            f"/api/interactions/{item.pk}/", {"first_response_at": iso(answered)}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["first_response_at"] == iso(answered)

    resolved = occurred + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(charlie).patch(
            f"/api/interactions/{item.pk}/",
            {"first_response_at": iso(resolved), "resolved_at": iso(resolved), "satisfaction": 4},
            format="json",
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    # The first response once recorded is kept: answering twice does not move it.
    assert (body["first_response_at"], body["resolved_at"]) == (iso(answered), iso(resolved))
    assert body["satisfaction"] == 4
    # Respond, resolve, satisfaction: each recorded change queues the recompute after commit.
    assert sent_tasks == [alices_customer.pk] * 3


def test_it_names_the_field_of_a_bad_patch_and_changes_nothing(api, charlie, alices_customer):
    occurred = timezone.now() - timedelta(hours=1)
    item = InteractionFactory(
        customer=alices_customer, requires_response=True, occurred_at=occurred
    )
    response = api(charlie).patch(
        f"/api/interactions/{item.pk}/",
        {
            "first_response_at": iso(occurred + timedelta(minutes=5)),
            "resolved_at": iso(occurred - timedelta(hours=1)),
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["resolved_at"]
    item.refresh_from_db()
    assert item.first_response_at is None  # the whole PATCH is one transaction

    response = api(charlie).patch(
        f"/api/interactions/{item.pk}/", {"satisfaction": 0, "resolved_at": "soon"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"satisfaction", "resolved_at"}
    future = api(charlie).patch(
        f"/api/interactions/{item.pk}/",
        {"resolved_at": iso(timezone.now() + timedelta(days=1))},
        format="json",
    )
    assert (future.status_code, list(future.json())) == (400, ["resolved_at"])


def test_it_hides_another_portfolios_interactions_from_a_manager(
    api, alice, bob, bobs_customer, alices_customer
):
    bobs_item = InteractionFactory(customer=bobs_customer, requires_response=True)
    InteractionFactory(customer=alices_customer)
    now = iso(timezone.now())

    assert api(alice).get(f"/api/interactions/{bobs_item.pk}/").status_code == 404
    patch = api(alice).patch(f"/api/interactions/{bobs_item.pk}/", {"resolved_at": now})
    assert patch.status_code == 404
    assert api(alice).get(f"/api/customers/{bobs_customer.pk}/timeline/").status_code == 404
    listed = api(alice).get("/api/interactions/", {"customer": bobs_customer.pk}).json()
    assert listed["count"] == 0
    bobs_item.refresh_from_db()
    assert bobs_item.resolved_at is None
    assert (
        api(bob).patch(f"/api/interactions/{bobs_item.pk}/", {"resolved_at": now}).status_code
        == 200
    )


def test_it_paginates_the_timeline_newest_first(api, charlie, alices_customer):
    now = timezone.now()
    made = [
        InteractionFactory(customer=alices_customer, occurred_at=now - timedelta(days=d))
        for d in range(55)
    ]
    first = api(charlie).get(f"/api/customers/{alices_customer.pk}/timeline/").json()
    assert first["count"] == 55
    assert [i["id"] for i in first["results"]] == [m.pk for m in made[:50]]
    second = APIClient()
    second.force_authenticate(charlie)
    rest = second.get(first["next"]).json()
    assert [i["id"] for i in rest["results"]] == [m.pk for m in made[50:]]


def test_it_lists_interactions_with_a_fixed_number_of_queries(
    api, charlie, alices_customer, django_assert_num_queries
):
    beans = OfferingFactory()
    for _ in range(3):
        order = InteractionFactory(customer=alices_customer, type="order")
        order.lines.create(offering=beans, quantity=1, unit_price=24, unit_cost=11)
    client = api(charlie)
    # user's role, who may see money (user and group permissions), count, page, lines
    with django_assert_num_queries(4):
        assert client.get("/api/interactions/").json()["count"] == 3
