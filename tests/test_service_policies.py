"""Service-level policies (issue 21, docs/service-levels.md): business calendars, policies by
tier and channel in clock or business hours, stored due times, the pause while waiting on the
customer. Hand-worked cases on Mon–Fri 09:00–17:00 Europe/Berlin (CET, UTC+1, in late 2026)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from interactions import selectors, services
from interactions.choices import ServiceTier
from interactions.models import (
    BusinessCalendar,
    CustomerServiceTier,
    Interaction,
    ServiceLevelTarget,
)
from interactions.tasks import interactions_due_recompute_task
from valuation.declared import ValueTier

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {str(day): [["09:00", "17:00"]] for day in range(5)}


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def office():
    return services.business_calendar_create(
        name="Berlin office", time_zone="Europe/Berlin", weekly_hours=OFFICE, is_default=True
    )


@pytest.fixture
def complaints_in_business_hours(office):
    target = ServiceLevelTarget.objects.get(type="complaint", channel="", tier="")
    return services.service_level_target_update(
        target=target, data={"business_hours": True, "resolution_hours": 16}
    )


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def log(customer, at, *, type="complaint", channel="email", direction="inbound", thread=None):
    return services.interaction_log(
        customer=customer,
        logged_by=None,
        channel=channel,
        direction=direction,
        type=type,
        subject="My parcel",
        occurred_at=at,
        thread=thread,
    )


def test_a_complaint_on_friday_evening_is_due_monday_at_13(complaints_in_business_hours):
    # Friday 27 November 2026, 18:00 in Berlin: closed; 4 business hours from Monday 09:00
    item = log(CustomerFactory(), berlin(2026, 11, 27, 18))

    assert item.response_due_at == berlin(2026, 11, 30, 13)
    # resolution: 16 business hours = Monday and Tuesday
    assert item.resolution_due_at == berlin(2026, 12, 1, 17)
    # stored, and what the queue reads
    stored = selectors.with_service_level(Interaction.objects.filter(pk=item.pk)).get()
    assert stored.response_due_at == berlin(2026, 11, 30, 13)


def test_clock_hours_stay_the_default_meaning_of_a_policy():
    # The migration's policies are in clock hours: Friday 18:00 + 4 h is Friday 22:00.
    item = log(CustomerFactory(), berlin(2026, 11, 27, 18))
    assert item.response_due_at == berlin(2026, 11, 27, 22)
    assert item.resolution_due_at is None  # no resolution target by default


def test_a_tier_specific_policy_beats_the_general_one():
    vip, other = CustomerFactory(), CustomerFactory()
    services.customer_service_tiers_set(tiers={vip.pk: "mvc", other.pk: "maintain"})
    services.service_level_target_create(type="complaint", tier="mvc", first_response_hours=1)
    at = berlin(2026, 11, 27, 10)

    assert log(vip, at).response_due_at == at + timedelta(hours=1)
    assert log(other, at).response_due_at == at + timedelta(hours=4)


def test_the_tier_beats_the_channel_and_the_channel_beats_any():
    vip = CustomerFactory()
    services.customer_service_tiers_set(tiers={vip.pk: "mvc"})
    services.service_level_target_create(type="complaint", channel="phone", first_response_hours=2)
    services.service_level_target_create(type="complaint", tier="mvc", first_response_hours=1)
    at = berlin(2026, 11, 27, 10)
    assert log(vip, at, channel="phone").response_due_at == at + timedelta(hours=1)
    assert log(CustomerFactory(), at, channel="phone").response_due_at == at + timedelta(hours=2)
    assert log(CustomerFactory(), at, channel="chat").response_due_at == at + timedelta(hours=4)


def test_a_tier_change_moves_the_due_times_of_the_customers_items():
    customer = CustomerFactory()
    services.service_level_target_create(type="complaint", tier="mvc", first_response_hours=1)
    at = berlin(2026, 11, 27, 10)
    item = log(customer, at)
    assert item.response_due_at == at + timedelta(hours=4)

    assert services.customer_service_tiers_set(tiers={customer.pk: "mvc"}) == [customer.pk]
    item.refresh_from_db()
    assert item.response_due_at == at + timedelta(hours=1)
    assert services.customer_service_tiers_set(tiers={customer.pk: "mvc"}) == []  # no change


def test_the_tiers_are_valuations_own():
    assert ServiceTier.choices == ValueTier.choices


def test_a_policy_change_recomputes_the_stored_due_times(office):
    at = berlin(2026, 11, 27, 18)
    item = log(CustomerFactory(), at)
    assert item.response_due_at == at + timedelta(hours=4)
    target = ServiceLevelTarget.objects.get(type="complaint", channel="", tier="")

    services.service_level_target_update(target=target, data={"business_hours": True})
    item.refresh_from_db()
    assert item.response_due_at == berlin(2026, 11, 30, 13)

    # the calendar changes: Monday 30 November a holiday, so Tuesday 13:00
    services.business_calendar_update(calendar=office, data={"holidays": ["2026-11-30"]})
    item.refresh_from_db()
    assert item.response_due_at == berlin(2026, 12, 1, 13)


def test_the_recompute_task_rewrites_rows_written_behind_the_services_back(office):
    item = log(CustomerFactory(), berlin(2026, 11, 27, 18))
    Interaction.objects.filter(pk=item.pk).update(response_due_at=None)
    assert interactions_due_recompute_task.run(types=["complaint"]) >= 1
    item.refresh_from_db()
    assert item.response_due_at == berlin(2026, 11, 27, 22)


def test_a_channels_own_calendar_comes_before_the_default(complaints_in_business_hours):
    services.business_calendar_create(
        name="Phone desk",
        time_zone="Europe/Berlin",
        weekly_hours={str(day): [["08:00", "24:00"]] for day in range(7)},
        channel="phone",
    )
    # Friday 18:00 by phone: the phone desk is open until midnight, so 22:00 the same day
    item = log(CustomerFactory(), berlin(2026, 11, 27, 18), channel="phone")
    assert item.response_due_at == berlin(2026, 11, 27, 22)


def test_a_batch_computes_every_due_time_in_one_pass(complaints_in_business_hours):
    customer = CustomerFactory()
    at = [berlin(2026, 11, 27, 18), berlin(2026, 11, 30, 10), berlin(2026, 11, 30, 16)]
    items = [
        Interaction(
            customer=customer,
            channel="email",
            direction="inbound",
            type=type_,
            subject="s",
            occurred_at=t,
            requires_response=True,
        )
        for t, type_ in zip(at, ["complaint", "complaint", "inquiry"], strict=True)
    ]
    services.interactions_bulk_log(interactions=items, lines=[])
    due = dict(
        Interaction.objects.filter(customer=customer).values_list("occurred_at", "response_due_at")
    )
    assert due == {
        at[0]: berlin(2026, 11, 30, 13),
        at[1]: berlin(2026, 11, 30, 14),
        at[2]: at[2] + timedelta(hours=24),  # inquiries stay in clock hours
    }


def test_a_pause_of_two_business_hours_moves_the_due_time_by_two_business_hours(
    complaints_in_business_hours,
):
    customer = CustomerFactory()
    # Monday 10:00, due 14:00; waiting from 16:00 to Tuesday 10:00 is 2 business hours
    item = log(customer, berlin(2026, 11, 30, 10))
    assert item.response_due_at == berlin(2026, 11, 30, 14)
    assert services.interaction_wait_on_customer(interaction=item, at=berlin(2026, 11, 30, 16))
    assert not services.interaction_wait_on_customer(interaction=item, at=berlin(2026, 11, 30, 16))
    item.refresh_from_db()
    waiting = selectors.with_service_level(Interaction.objects.filter(pk=item.pk)).get()
    assert waiting.response_time_left == timedelta(hours=-2)  # the clock stopped at 16:00

    # the customer writes again on the thread, by phone
    log(customer, berlin(2026, 12, 1, 10), channel="phone", type="inquiry", thread=item)

    item.refresh_from_db()
    assert item.waiting_since is None
    assert item.paused_seconds == 2 * 3600
    assert item.response_due_at == berlin(2026, 11, 30, 16)
    assert item.resolution_due_at == berlin(2026, 12, 2, 12)  # 16 h from Monday 10:00, +2 h
    # a later recompute keeps the pause
    services.interactions_due_recompute(interaction_ids=[item.pk])
    item.refresh_from_db()
    assert item.response_due_at == berlin(2026, 11, 30, 16)


def test_our_own_message_on_the_thread_does_not_resume_it(complaints_in_business_hours):
    customer = CustomerFactory()
    item = log(customer, berlin(2026, 11, 30, 10))
    services.interaction_wait_on_customer(interaction=item, at=berlin(2026, 11, 30, 11))
    log(customer, berlin(2026, 11, 30, 12), direction="outbound", type="inquiry", thread=item)
    item.refresh_from_db()
    assert item.waiting_since == berlin(2026, 11, 30, 11)


def test_only_an_open_inbound_item_waits():
    customer = CustomerFactory()
    ours = log(customer, berlin(2026, 11, 30, 10), direction="outbound", type="inquiry")
    with pytest.raises(ValidationError) as raised:
        services.interaction_wait_on_customer(interaction=ours)
    assert list(raised.value.message_dict) == ["interaction"]


def test_the_queue_button_stops_the_clock(client, alice):
    customer = CustomerFactory(owner=alice)
    item = log(customer, datetime.now(UTC) - timedelta(hours=1))
    client.force_login(alice)
    response = client.post(f"/interactions/{item.pk}/wait/", {"next": "/interactions/queue/"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.waiting_since is not None
    page = client.get("/interactions/queue/").content.decode()
    assert "waiting on the customer" in page


# --- The API ----------------------------------------------------------------------------------


def test_admins_manage_calendars_and_bad_input_names_the_field(ada, alice, charlie):
    body = {"name": "Office", "time_zone": "Europe/Berlin", "weekly_hours": OFFICE}
    assert api(alice).get("/api/business-calendars/").status_code == 403
    assert api(charlie).post("/api/business-calendars/", body, format="json").status_code == 403
    created = api(ada).post("/api/business-calendars/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["weekly_hours"] == OFFICE

    for bad, field in [
        ({"time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"weekly_hours": {"0": [["17:00", "09:00"]]}}, "weekly_hours"),
        ({"weekly_hours": {"7": [["09:00", "17:00"]]}}, "weekly_hours"),
        ({"weekly_hours": {"0": [["9 am", "17:00"]]}}, "weekly_hours"),
        ({"weekly_hours": {}}, "weekly_hours"),
        ({"weekly_hours": "always"}, "weekly_hours"),
        ({"holidays": ["2026-02-30"]}, "holidays"),
    ]:
        answer = api(ada).post(
            "/api/business-calendars/", {**body, "name": "Other", **bad}, format="json"
        )
        assert answer.status_code == 400, bad
        assert list(answer.json()) == [field], answer.json()
    closes_early = api(ada).patch(
        f"/api/business-calendars/{created.json()['id']}/",
        {"weekly_hours": {"4": [["09:00", "08:00"]]}},
        format="json",
    )
    assert closes_early.status_code == 400
    assert "Friday" in closes_early.json()["weekly_hours"][0]
    always = api(ada).post(
        "/api/business-calendars/", {"name": "24/7", "always_open": True}, format="json"
    )
    assert always.status_code == 201, always.json()


def test_policies_take_the_new_fields_and_a_calendar_in_use_stays(ada, office):
    answer = api(ada).post(
        "/api/service-level-targets/",
        {
            "type": "complaint",
            "tier": "mvc",
            "first_response_hours": 2,
            "next_reply_hours": 8,
            "resolution_hours": 40,
            "business_hours": True,
            "calendar": office.pk,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["calendar"] == office.pk and answer.json()["tier"] == "mvc"
    bad = api(ada).post(
        "/api/service-level-targets/",
        {"type": "complaint", "tier": "gold", "first_response_hours": 2},
        format="json",
    )
    assert bad.status_code == 400 and list(bad.json()) == ["tier"]
    kept = api(ada).delete(f"/api/business-calendars/{office.pk}/")
    assert kept.status_code == 409
    assert BusinessCalendar.objects.filter(pk=office.pk).exists()


def test_valuations_recompute_keeps_the_tier_copy_and_the_due_times_follow():
    from valuation.models import CustomerFigures
    from valuation.services import customer_figures_recompute

    customer = CustomerFactory()
    at = berlin(2026, 11, 27, 10)
    item = log(customer, at)
    customer_figures_recompute(customer_id=customer.pk)
    tier = CustomerFigures.objects.get(customer=customer).tier
    assert tier
    assert CustomerServiceTier.objects.get(customer=customer).tier == tier
    # a policy for that tier: the customer's items follow it
    services.service_level_target_create(type="complaint", tier=tier, first_response_hours=1)
    item.refresh_from_db()
    assert item.response_due_at == at + timedelta(hours=1)
