"""Escalation notices (issue 21, docs/service-levels.md): an open, unanswered item near its
response due time (less than ESCALATE_NEAR = 25 % of its target left) or past it gives its
assignee and its customer's manager one notice of each kind; the top bar counts the unread
ones; /notices/ lists them and marks them read. Complaints: 4 clock hours (the shipped policy)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from interactions import services
from interactions.models import Notice
from interactions.tasks import service_level_escalate

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now() - timedelta(days=2)  # the task's "now", so every item is in the past


def complaint(customer, hours_before_now, *, assignee=None, **kw):
    return services.interaction_log(
        customer=customer,
        logged_by=None,
        channel="email",
        direction="inbound",
        type="complaint",
        subject="My parcel",
        occurred_at=NOW - timedelta(hours=hours_before_now),
        assignee=assignee,
        **kw,
    )


def notices():
    return set(Notice.objects.values_list("user__username", "interaction_id", "kind"))


def test_near_and_past_due_items_notify_assignee_and_manager_once(alice, bob, charlie):
    customer = CustomerFactory(owner=alice)
    near = complaint(customer, 3.5, assignee=charlie)  # due in 30 min: under 1 h (25 % of 4 h)
    late = complaint(customer, 5, assignee=charlie)  # due an hour ago
    later = complaint(customer, 2.5, assignee=charlie)  # 1 h 30 left: nothing yet
    complaint(CustomerFactory(owner=bob), 1)  # bob's, nothing yet

    assert services.service_level_escalate(now=NOW) == 4
    assert notices() == {
        ("alice", near.pk, "near_breach"),
        ("charlie", near.pk, "near_breach"),
        ("alice", late.pk, "breached"),
        ("charlie", late.pk, "breached"),
    }
    # again: nothing new
    assert services.service_level_escalate(now=NOW) == 0
    # an hour later the near one is past due (its breach notice comes too) and the third
    # has 30 min left: near
    assert services.service_level_escalate(now=NOW + timedelta(hours=1)) == 4
    assert notices() - {
        ("alice", near.pk, "near_breach"),
        ("charlie", near.pk, "near_breach"),
        ("alice", late.pk, "breached"),
        ("charlie", late.pk, "breached"),
    } == {
        ("alice", near.pk, "breached"),
        ("charlie", near.pk, "breached"),
        ("alice", later.pk, "near_breach"),
        ("charlie", later.pk, "near_breach"),
    }


def test_answered_resolved_waiting_and_unassigned_items(alice, charlie):
    customer = CustomerFactory(owner=alice)
    answered = complaint(customer, 5, assignee=charlie)
    services.interaction_respond(interaction=answered, at=NOW - timedelta(hours=4, minutes=30))
    resolved = complaint(customer, 5, assignee=charlie)
    services.interaction_resolve(interaction=resolved, at=NOW - timedelta(hours=4, minutes=30))
    waiting = complaint(customer, 5, assignee=charlie)
    services.interaction_wait_on_customer(
        interaction=waiting, at=NOW - timedelta(hours=4, minutes=30)
    )
    outbound = services.interaction_log(
        customer=customer,
        logged_by=None,
        channel="email",
        direction="outbound",
        type="complaint",
        subject="We wrote",
        occurred_at=NOW - timedelta(hours=5),
        requires_response=True,
    )
    nobodys = complaint(CustomerFactory(owner=None), 5)  # no assignee, no manager
    assert services.service_level_escalate(now=NOW) == 0
    assert not Notice.objects.filter(
        interaction__in=[answered, resolved, waiting, outbound, nobodys]
    ).exists()


def test_the_manager_who_is_also_the_assignee_gets_one_notice(alice):
    item = complaint(CustomerFactory(owner=alice), 5, assignee=alice)
    assert services.service_level_escalate(now=NOW) == 1
    assert notices() == {("alice", item.pk, "breached")}


def test_the_task_and_the_beat_entry(alice, settings):
    complaint(CustomerFactory(owner=alice), 100)
    assert service_level_escalate() == 1
    entry = settings.CELERY_BEAT_SCHEDULE["escalate-service-levels"]
    assert entry["task"] == "interactions.tasks.service_level_escalate"


def test_a_wider_near_window_from_the_setting(alice, settings):
    settings.ESCALATE_NEAR = 0.5
    item = complaint(CustomerFactory(owner=alice), 2.5)  # 1 h 30 left of 4 h: under 2 h
    assert services.service_level_escalate(now=NOW) == 1
    assert notices() == {("alice", item.pk, "near_breach")}


def test_the_badge_counts_unread_in_one_query(client, alice, django_assert_num_queries):
    customer = CustomerFactory(owner=alice)
    complaint(customer, 5)
    complaint(customer, 6)
    services.service_level_escalate(now=NOW)
    client.force_login(alice)
    page = client.get(reverse("interactions:search")).content.decode()
    assert 'aria-label="2 unread">2</span>' in page
    from interactions.context_processors import notices as processor

    class Request:
        user = alice

    with django_assert_num_queries(1):
        assert processor(Request())["notices_count"] == 2


def test_the_list_and_mark_read(client, alice, bob):
    item = complaint(CustomerFactory(owner=alice), 5)
    services.service_level_escalate(now=NOW)
    notice = Notice.objects.get()
    client.force_login(alice)
    page = client.get(reverse("notices:list")).content.decode()
    assert "Overdue" in page and "My parcel" in page
    assert reverse("mail:conversation", args=[item.pk]) in page
    assert reverse("notices:read", args=[notice.pk]) in page

    assert client.post(reverse("notices:read", args=[notice.pk])).status_code == 302
    notice.refresh_from_db()
    assert notice.read_at is not None
    page = client.get(reverse("interactions:search")).content.decode()
    assert "unread</span>" not in page and 'aria-label="1 unread"' not in page
    assert "Mark read" not in client.get(reverse("notices:list")).content.decode()


def test_another_persons_notice_is_404_and_not_listed(client, alice, bob):
    complaint(CustomerFactory(owner=alice), 5)
    services.service_level_escalate(now=NOW)
    notice = Notice.objects.get()
    client.force_login(bob)
    assert client.post(reverse("notices:read", args=[notice.pk])).status_code == 404
    assert "My parcel" not in client.get(reverse("notices:list")).content.decode()
    notice.refresh_from_db()
    assert notice.read_at is None
    assert client.get(reverse("notices:read", args=[notice.pk])).status_code == 405


@pytest.fixture
def dave(roles):
    from accounts.roles import Role

    from .factories import UserFactory

    return UserFactory(username="dave", first_name="Dave", role=Role.SUPPORT)


def test_an_overdue_item_of_someone_away_goes_to_the_least_busy(alice, charlie, dave, settings):
    from accounts.services import staff_availability_set

    settings.SUPPORT_ASSIGNMENT = "least_busy"
    customer = CustomerFactory(owner=alice)
    late = complaint(customer, 5, assignee=charlie)
    soon = complaint(customer, 3.5, assignee=charlie)  # due soon, not overdue: stays
    staff_availability_set(user=charlie, available=False)

    services.service_level_escalate(now=NOW)
    late.refresh_from_db()
    soon.refresh_from_db()
    assert late.assignee == dave and soon.assignee == charlie
    # dave, who has it now, is told in the same run; charlie was not (it left him first)
    assert ("dave", late.pk, "breached") in notices()
    assert ("charlie", late.pk, "breached") not in notices()


def test_without_automatic_assignment_or_anyone_available_nothing_moves(alice, charlie, settings):
    from accounts.services import staff_availability_set

    customer = CustomerFactory(owner=alice)
    late = complaint(customer, 5, assignee=charlie)
    staff_availability_set(user=charlie, available=False)
    services.service_level_escalate(now=NOW)  # assignment off (the default)
    late.refresh_from_db()
    assert late.assignee == charlie
    settings.SUPPORT_ASSIGNMENT = "least_busy"  # on, but charlie is the only support person
    assert services.service_level_reassign_away(now=NOW) == 0
    late.refresh_from_db()
    assert late.assignee == charlie
