"""Next-reply targets (issue 21, docs/service-levels.md): the customer's message that follows
our answer on a thread is due within the policy's next_reply_hours, on the same clock or
calendar as the first response. Hand-worked on Mon–Fri 09:00–17:00 Europe/Berlin (CET)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from interactions import services
from interactions.models import Interaction, ServiceLevelTarget

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {str(day): [["09:00", "17:00"]] for day in range(5)}


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def log(customer, at, *, direction="inbound", thread=None):
    return services.interaction_log(
        customer=customer,
        logged_by=None,
        channel="email",
        direction=direction,
        type="complaint",
        subject="My parcel",
        occurred_at=at,
        thread=thread,
    )


def complaints(**data):
    target = ServiceLevelTarget.objects.get(type="complaint", channel="", tier="")
    return services.service_level_target_update(target=target, data=data)


def test_a_reply_after_our_answer_uses_the_next_reply_target_in_clock_hours():
    complaints(next_reply_hours=1)  # first response stays 4 clock hours
    customer = CustomerFactory()
    first = log(customer, berlin(2026, 12, 1, 10))
    assert first.response_due_at == berlin(2026, 12, 1, 14)
    log(customer, berlin(2026, 12, 1, 11), direction="outbound", thread=first)
    again = log(customer, berlin(2026, 12, 1, 12), thread=first)
    assert again.response_due_at == berlin(2026, 12, 1, 13)  # 12:00 + 1 h, not + 4 h
    # a reply to a reply finds the thread's root and its answer
    third = log(customer, berlin(2026, 12, 1, 12, 30), thread=again)
    assert third.response_due_at == berlin(2026, 12, 1, 13, 30)


def test_a_second_message_before_any_answer_keeps_the_first_response_target():
    complaints(next_reply_hours=1)
    customer = CustomerFactory()
    first = log(customer, berlin(2026, 12, 1, 10))
    again = log(customer, berlin(2026, 12, 1, 11), thread=first)
    assert again.response_due_at == berlin(2026, 12, 1, 15)
    # an answer logged later than the message does not make it a next reply either
    later = log(customer, berlin(2026, 12, 1, 16), direction="outbound", thread=first)
    early = log(customer, berlin(2026, 12, 1, 15), thread=first)
    assert later.occurred_at > early.occurred_at
    assert early.response_due_at == berlin(2026, 12, 1, 19)


def test_without_a_next_reply_target_the_first_response_target_applies():
    customer = CustomerFactory()
    first = log(customer, berlin(2026, 12, 1, 10))
    log(customer, berlin(2026, 12, 1, 11), direction="outbound", thread=first)
    again = log(customer, berlin(2026, 12, 1, 12), thread=first)
    assert again.response_due_at == berlin(2026, 12, 1, 16)


def test_next_reply_in_business_hours_counts_on_the_calendar():
    office = services.business_calendar_create(
        name="Berlin office", time_zone="Europe/Berlin", weekly_hours=OFFICE, is_default=True
    )
    complaints(next_reply_hours=2, business_hours=True, calendar=office)
    customer = CustomerFactory()
    first = log(customer, berlin(2026, 11, 27, 9))  # Friday
    log(customer, berlin(2026, 11, 27, 10), direction="outbound", thread=first)
    # Friday 16:00: one business hour left on Friday, the second on Monday 09:00–10:00
    again = log(customer, berlin(2026, 11, 27, 16), thread=first)
    assert again.response_due_at == berlin(2026, 11, 30, 10)
    assert first.response_due_at == berlin(2026, 11, 27, 13)


def test_the_recompute_applies_a_new_next_reply_target_to_stored_items():
    customer = CustomerFactory()
    first = log(customer, berlin(2026, 12, 1, 10))
    log(customer, berlin(2026, 12, 1, 11), direction="outbound", thread=first)
    again = log(customer, berlin(2026, 12, 1, 12), thread=first)
    complaints(next_reply_hours=2)  # the policy change recomputes in its transaction
    again.refresh_from_db()
    first.refresh_from_db()
    assert again.response_due_at == berlin(2026, 12, 1, 14)
    assert first.response_due_at == berlin(2026, 12, 1, 14)  # 10:00 + 4 h, unchanged
    assert services.interactions_due_recompute() == Interaction.objects.count()
    again.refresh_from_db()
    assert again.response_due_at == berlin(2026, 12, 1, 14)


def test_the_whole_recompute_reads_the_threads_in_a_fixed_number_of_queries(
    django_assert_max_num_queries,
):
    complaints(next_reply_hours=1)
    customers = [CustomerFactory() for _ in range(3)]
    for customer in customers:
        first = log(customer, berlin(2026, 12, 1, 10))
        log(customer, berlin(2026, 12, 1, 11), direction="outbound", thread=first)
        log(customer, berlin(2026, 12, 1, 12), thread=first)
    # policies, calendars, thread roots, answers, one read + one update per chunk, end read
    with django_assert_max_num_queries(9):
        services.interactions_due_recompute()
    due = sorted(
        Interaction.objects.filter(direction="inbound").values_list("response_due_at", flat=True)
    )
    assert due == [berlin(2026, 12, 1, 13)] * 3 + [berlin(2026, 12, 1, 14)] * 3
