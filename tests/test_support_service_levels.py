"""Service levels (SPEC §5): targets per type and channel, time left / overdue, breaches."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from interactions import selectors
from interactions.models import ChannelCost, Interaction, ServiceLevelTarget
from interactions.templatetags.service_levels import duration_words, service_level

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def inbound(customer, type_, hours_ago, channel="email", answered_after=None, **extra):
    occurred = NOW - timedelta(hours=hours_ago)
    return InteractionFactory(
        customer=customer,
        type=type_,
        channel=channel,
        requires_response=True,
        occurred_at=occurred,
        first_response_at=occurred + answered_after if answered_after is not None else None,
        subject=f"{type_} {hours_ago}h ago",
        **extra,
    )


def annotated(interaction):
    return selectors.with_service_level(
        Interaction.objects.filter(pk=interaction.pk), now=NOW
    ).get()


def test_it_ships_the_default_targets_and_a_cost_for_every_channel():
    targets = {
        (t.type, t.channel): t.first_response_hours for t in ServiceLevelTarget.objects.all()
    }
    assert targets == {("complaint", ""): 4, ("inquiry", ""): 24}
    costs = selectors.channel_costs()
    assert set(costs) == {
        "email", "phone", "chat", "web", "in_person", "social", "sms", "letter", "partner"
    }  # fmt: skip
    assert costs["phone"] == Decimal("6.00")
    assert all(isinstance(cost, Decimal) for cost in costs.values())


def test_it_counts_a_channel_without_a_cost_as_free():
    ChannelCost.objects.filter(channel="letter").delete()
    assert selectors.channel_costs()["letter"] == Decimal("0")


def test_it_uses_the_most_specific_target_for_type_and_channel():
    ServiceLevelTarget.objects.create(type="complaint", channel="phone", first_response_hours=1)
    customer = CustomerFactory()
    by_phone = annotated(inbound(customer, "complaint", 0, channel="phone"))
    by_email = annotated(inbound(customer, "complaint", 0, channel="email"))
    feedback = annotated(inbound(customer, "feedback", 0))

    assert by_phone.response_target_hours == 1
    assert by_phone.response_due_at == NOW + timedelta(hours=1)
    assert by_email.response_target_hours == 4
    assert by_email.response_due_at == NOW + timedelta(hours=4)
    assert feedback.response_due_at is None
    assert feedback.response_time_left is None


def test_it_measures_time_left_and_overdue_in_plain_elapsed_time():
    customer = CustomerFactory()
    # A complaint 5 h 30 min ago against 4 h: 1 h 30 min overdue, across any hour of the day.
    complaint = annotated(inbound(customer, "complaint", 5.5))
    inquiry = annotated(inbound(customer, "inquiry", 1))

    assert complaint.response_time_left == timedelta(hours=-1, minutes=-30)
    assert inquiry.response_time_left == timedelta(hours=23)
    assert service_level(complaint).text == "1 h 30 min overdue"
    assert service_level(complaint).css == "overdue"
    assert service_level(inquiry).text == "23 h 00 min left"


def test_it_labels_answered_items_by_whether_the_answer_came_in_time():
    customer = CustomerFactory()
    in_time = annotated(inbound(customer, "complaint", 10, answered_after=timedelta(hours=4)))
    late = annotated(
        inbound(customer, "complaint", 10, answered_after=timedelta(hours=4, seconds=1))
    )
    assert service_level(in_time).text == "answered in time"
    assert service_level(late).text == "answered late"


def test_it_counts_breaches_per_customer_and_overall():
    anna, bruno, clara = CustomerFactory(), CustomerFactory(), CustomerFactory()
    inbound(anna, "complaint", 10, answered_after=timedelta(hours=3))  # in time
    inbound(anna, "complaint", 10, answered_after=timedelta(hours=5))  # late
    inbound(anna, "inquiry", 30)  # unanswered, 6 h overdue
    inbound(anna, "inquiry", 2)  # unanswered, not yet due
    inbound(bruno, "inquiry", 48, answered_after=timedelta(hours=30))  # late
    inbound(clara, "complaint", 1, answered_after=timedelta(minutes=10))  # in time
    InteractionFactory(customer=clara, type="outreach", direction="outbound")  # no target

    stats = selectors.customer_service_level_stats(anna.pk, now=NOW)
    assert (stats.answered_in_time, stats.answered_late) == (1, 1)
    assert (stats.unanswered_overdue, stats.unanswered_pending) == (1, 1)
    assert (stats.breaches, stats.decided) == (2, 3)
    assert stats.share_in_time == Decimal(1) / Decimal(3)

    overall = selectors.service_level_stats(now=NOW)
    assert (overall.answered_in_time, overall.breaches, overall.decided) == (2, 3, 5)
    assert selectors.service_level_breaches_by_customer(now=NOW) == {anna.pk: 2, bruno.pk: 1}

    # The per-customer counts the recompute reads (one query for many customers) agree
    by_customer = {
        row.pop("customer_id"): row
        for row in selectors.service_level_stats_by_customer(
            customer_ids=[anna.pk, bruno.pk, clara.pk], now=NOW
        )
    }
    assert by_customer == {
        c.pk: vars(selectors.customer_service_level_stats(c.pk, now=NOW))
        for c in (anna, bruno, clara)
    }
    assert by_customer[anna.pk] == {
        "answered_in_time": 1,
        "answered_late": 1,
        "unanswered_overdue": 1,
        "unanswered_pending": 1,
    }


def test_it_has_no_share_before_anything_was_due():
    customer = CustomerFactory()
    inbound(customer, "inquiry", 1)
    stats = selectors.customer_service_level_stats(customer.pk, now=NOW)
    assert stats.decided == 0
    assert stats.share_in_time is None


def test_it_writes_durations_for_people():
    assert duration_words(timedelta(minutes=7)) == "7 min"
    assert duration_words(timedelta(hours=-2, minutes=-5)) == "2 h 05 min"
    assert duration_words(timedelta(days=3, hours=4)) == "3 d 4 h"


def test_the_per_customer_counts_apply_a_channels_own_target_before_the_any_channel_one():
    # Given a 1 h target for complaints by phone beside the 4 h one for any channel, and a
    # 24 h inquiry target only for any channel
    ServiceLevelTarget.objects.update_or_create(
        type="complaint", channel="phone", defaults={"first_response_hours": 1}
    )
    dora = CustomerFactory()
    inbound(dora, "complaint", 10, channel="phone", answered_after=timedelta(hours=2))  # late
    inbound(dora, "complaint", 10, channel="email", answered_after=timedelta(hours=2))  # in time
    inbound(dora, "complaint", 3, channel="phone")  # unanswered, 2 h overdue
    inbound(dora, "inquiry", 3, channel="phone")  # unanswered, not yet due

    # When the recompute's per-customer counts are read
    [row] = selectors.service_level_stats_by_customer(customer_ids=[dora.pk], now=NOW)

    # Then they are what the per-item rule gives
    assert row == {
        "customer_id": dora.pk,
        "answered_in_time": 1,
        "answered_late": 1,
        "unanswered_overdue": 1,
        "unanswered_pending": 1,
    }
    assert {k: v for k, v in row.items() if k != "customer_id"} == vars(
        selectors.customer_service_level_stats(dora.pk, now=NOW)
    )
