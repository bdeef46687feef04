"""Resolution targets (issue 21, docs/service-levels.md): the resolution due time stored from
the policy's resolution hours (clock or business), resolving records whether it was in time,
the escalation's "Resolution due soon" / "Resolution overdue" notices, the report's resolution
attainment beside the responses, by tier too, and the notices by e-mail (one message per
person and escalation run, read back from the real SMTP server)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import staff_notice_emails_set
from crm.celery import app
from interactions import reports, services
from interactions.models import Interaction, Notice, ServiceLevelTarget
from interactions.tasks import service_level_escalate

from .factories import CustomerFactory, UserFactory
from .mailservers import smtp_server, smtp_settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

NOW = timezone.now() - timedelta(days=2)  # the escalation's "now": every item is in the past
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {str(day): [["09:00", "17:00"]] for day in range(5)}


@pytest.fixture
def resolve_in_8h():
    """Complaints: answered within 4 clock hours (shipped), resolved within 8."""
    target = ServiceLevelTarget.objects.get(type="complaint", channel="", tier="")
    return services.service_level_target_update(target=target, data={"resolution_hours": 8})


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def complaint(customer, hours_before_now, *, assignee=None, **kw):
    return services.interaction_log(
        customer=customer,
        logged_by=None,
        channel="email",
        direction="inbound",
        type="complaint",
        subject=kw.pop("subject", "My parcel"),
        occurred_at=NOW - timedelta(hours=hours_before_now),
        assignee=assignee,
        **kw,
    )


def test_resolving_records_whether_it_was_in_time(resolve_in_8h):
    customer = CustomerFactory()
    early, late = complaint(customer, 20), complaint(customer, 20)
    assert early.resolution_due_at == early.occurred_at + timedelta(hours=8)
    assert early.resolved_in_time is None

    services.interaction_resolve(interaction=early, at=early.occurred_at + timedelta(hours=8))
    services.interaction_resolve(interaction=late, at=late.occurred_at + timedelta(hours=9))
    assert early.resolved_in_time is True  # at the due time itself: in time
    assert late.resolved_in_time is False
    # no resolution target (inquiries): nothing to judge
    inquiry = services.interaction_log(
        customer=customer, logged_by=None, channel="email", direction="inbound",
        type="inquiry", subject="?", occurred_at=NOW,
    )  # fmt: skip
    services.interaction_resolve(interaction=inquiry, at=NOW + timedelta(hours=1))
    assert inquiry.resolution_due_at is None and inquiry.resolved_in_time is None


def test_business_hours_resolution_and_a_policy_change_rejudges(resolve_in_8h):
    services.business_calendar_create(
        name="Berlin office", time_zone="Europe/Berlin", weekly_hours=OFFICE, is_default=True
    )
    services.service_level_target_update(target=resolve_in_8h, data={"business_hours": True})
    # Friday 27 November 2026 16:00 Berlin: 1 business hour on Friday, 7 on Monday
    from datetime import datetime

    at = datetime(2026, 11, 27, 16, tzinfo=BERLIN)
    item = services.interaction_log(
        customer=CustomerFactory(), logged_by=None, channel="email", direction="inbound",
        type="complaint", subject="Broken", occurred_at=at,
    )  # fmt: skip
    assert item.resolution_due_at == datetime(2026, 11, 30, 16, tzinfo=BERLIN)
    services.interaction_resolve(interaction=item, at=datetime(2026, 11, 30, 17, tzinfo=BERLIN))
    assert item.resolved_in_time is False
    # 16 business hours: due Tuesday 16:00, so Monday 17:00 was in time (recomputed)
    services.service_level_target_update(target=resolve_in_8h, data={"resolution_hours": 16})
    item.refresh_from_db()
    assert item.resolution_due_at == datetime(2026, 12, 1, 16, tzinfo=BERLIN)
    assert item.resolved_in_time is True


def test_resolution_notices_come_while_unresolved_even_once_answered(resolve_in_8h, alice):
    customer = CustomerFactory(owner=alice)
    answered = complaint(customer, 7)  # answered; 1 h of 8 left: under 25 %
    services.interaction_respond(interaction=answered, at=answered.occurred_at)
    overdue = complaint(customer, 9)  # response and resolution both overdue
    fresh = complaint(customer, 1)  # nothing yet
    resolved = complaint(customer, 9)
    services.interaction_resolve(interaction=resolved, at=resolved.occurred_at)
    waiting = complaint(customer, 9)
    services.interaction_wait_on_customer(interaction=waiting, at=waiting.occurred_at)

    assert services.service_level_escalate(now=NOW) == 3
    assert set(Notice.objects.values_list("interaction_id", "kind")) == {
        (answered.pk, "resolution_near"),
        (overdue.pk, "breached"),
        (overdue.pk, "resolution_breached"),
    }
    assert fresh.pk not in set(Notice.objects.values_list("interaction_id", flat=True))
    assert services.service_level_escalate(now=NOW) == 0
    # two hours later the answered one's resolution is overdue too (and the fresh one's
    # response is due in its last hour)
    assert services.service_level_escalate(now=NOW + timedelta(hours=2)) == 2
    assert Notice.objects.filter(interaction=answered, kind="resolution_breached").exists()
    assert Notice.objects.filter(interaction=fresh, kind="near_breach").exists()

    client = Client()
    client.force_login(alice)
    html = client.get("/notices/").content.decode()
    assert "Resolution overdue" in html and "Resolution due soon" in html


def test_the_report_shows_resolution_beside_responses_and_by_tier(resolve_in_8h, alice):
    from interactions.models import CustomerServiceTier

    gold, plain = CustomerFactory(owner=alice), CustomerFactory(owner=alice)
    CustomerServiceTier.objects.create(customer=gold, tier="mvc")
    now = timezone.now()
    in_time = services.interaction_log(
        customer=gold, logged_by=None, channel="email", direction="inbound", type="complaint",
        subject="a", occurred_at=now - timedelta(days=3),
    )  # fmt: skip
    services.interaction_resolve(interaction=in_time, at=in_time.occurred_at + timedelta(hours=2))
    late = services.interaction_log(
        customer=plain, logged_by=None, channel="phone", direction="inbound", type="complaint",
        subject="b", occurred_at=now - timedelta(days=3),
    )  # fmt: skip
    services.interaction_resolve(interaction=late, at=late.occurred_at + timedelta(hours=12))
    services.interaction_log(
        customer=plain, logged_by=None, channel="phone", direction="inbound", type="complaint",
        subject="c", occurred_at=now - timedelta(days=2),
    )  # open, resolution overdue  # fmt: skip
    today = timezone.localdate()
    since = today - timedelta(days=30)

    report = reports.service_level_report(user=alice, since=since, until=today, by="tier")
    by_tier = {row.key: row for row in report["rows"]}
    assert {k: r.label for k, r in by_tier.items()} == {"mvc": "Most valuable", "": "No tier yet"}
    assert by_tier["mvc"].resolution.resolved_by_due == 1
    assert by_tier["mvc"].resolution.share_in_time == 1
    assert by_tier[""].resolution.resolved_late == 1
    assert by_tier[""].resolution.open_overdue == 1
    assert by_tier[""].stats.unanswered_overdue == 1  # the open one's response too
    assert report["resolution"].breaches == 2
    assert set(report["series"]) == {"Most valuable", "No tier yet"}

    by_channel = reports.service_level_report(user=alice, since=since, until=today)
    assert {r.key: r.resolution.breaches for r in by_channel["rows"]} == {"email": 0, "phone": 2}

    def count(by) -> int:
        with CaptureQueriesContext(connection) as captured:
            reports.service_level_report(user=alice, since=since, until=today, by=by)
        return len(captured)

    before = count("tier")
    for day in range(1, 15):
        services.interaction_log(
            customer=CustomerFactory(owner=alice), logged_by=None, channel="chat",
            direction="inbound", type="complaint", subject="d",
            occurred_at=now - timedelta(days=day),
        )  # fmt: skip
    assert count("tier") == before == 5

    client = Client()
    client.force_login(alice)
    page = client.get("/interactions/service-levels/", {"by": "tier"})
    html = page.content.decode()
    assert page.status_code == 200 and 'data-key="mvc"' in html
    assert 'data-stat="resolution-breaches">16<' in html  # with the 14 open chats


def test_notices_go_by_email_one_message_per_person_and_run(
    resolve_in_8h,
    smtp_settings,  # noqa: F811 - the fixture
    eager,
    django_capture_on_commit_callbacks,
    alice,
    charlie,
    bob,
):
    customer = CustomerFactory(owner=alice, name="Anna Keller")
    first = complaint(customer, 5, assignee=charlie, subject="Parcel lost")
    second = complaint(customer, 3.5, assignee=charlie, subject="Wrong size")
    complaint(CustomerFactory(owner=bob), 5)  # bob turned the e-mails off
    staff_notice_emails_set(user=bob, on=False)

    with django_capture_on_commit_callbacks(execute=True):
        written = service_level_escalate(now=NOW.isoformat())
    assert written == 5  # alice 2, charlie 2, bob 1 (responses; resolutions not yet near)

    received = smtp_settings.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in received) == ["alice@example.com", "charlie@example.com"]
    to_charlie = next(r for r in received if r.rcpt_tos == ["charlie@example.com"])
    assert to_charlie.message["Subject"] == "2 service-level notices: 1 overdue, 1 due soon"
    body = to_charlie.message.get_content()
    assert "Overdue (due" in body and "Parcel lost" in body and "Wrong size" in body
    assert f"http://localhost:8000/conversations/{first.pk}/" in body and "Anna Keller" in body
    assert Notice.objects.filter(user=charlie, emailed_at__isnull=False).count() == 2
    assert not Notice.objects.filter(user=bob, emailed_at__isnull=False).exists()

    # The same notices again (a retried task): nothing sent twice.
    ids = list(Notice.objects.filter(user=charlie).values_list("pk", flat=True))
    assert services.notices_email_send(user_id=charlie.pk, notice_ids=ids) == 0
    # The next run's new notices come in a new message: the second is overdue now, the first
    # has 2 h of its 8 to be resolved.
    with django_capture_on_commit_callbacks(execute=True):
        service_level_escalate(now=(NOW + timedelta(hours=1)).isoformat())
    later = smtp_settings.wait_for(4)[2:]
    assert {r.rcpt_tos[0] for r in later} == {"alice@example.com", "charlie@example.com"}
    subjects = {r.message["Subject"] for r in later}
    assert subjects == {"2 service-level notices: 1 overdue, 1 due soon"}
    assert all("Resolution due soon (due" in r.message.get_content() for r in later)
    assert second.pk in set(
        Notice.objects.filter(kind="breached", emailed_at__isnull=False).values_list(
            "interaction_id", flat=True
        )
    )


def test_the_opt_out_on_the_notices_page(alice):
    client = Client()
    client.force_login(alice)
    assert "Stop the e-mails" in client.get("/notices/").content.decode()
    response = client.post("/notices/email/", {"emails": "off"})
    assert response.status_code == 302
    assert "E-mail me too" in client.get("/notices/").content.decode()
    assert alice.availability.notice_emails is False
    bad = client.post("/notices/email/", {"emails": "maybe"}, follow=True)
    assert "emails: choose on or off." in bad.content.decode()
    client.post("/notices/email/", {"emails": "on"})
    alice.availability.refresh_from_db()
    assert alice.availability.notice_emails is True


def test_a_person_without_an_address_gets_no_email(resolve_in_8h, smtp_settings):  # noqa: F811
    nobody = UserFactory(username="noaddress", email="")
    item = complaint(CustomerFactory(owner=nobody), 5)
    services.service_level_escalate(now=NOW)
    ids = list(Notice.objects.filter(interaction=item).values_list("pk", flat=True))
    assert services.notices_email_send(user_id=nobody.pk, notice_ids=ids) == 0
    assert Interaction.objects.filter(pk=item.pk).exists()
