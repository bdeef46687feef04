"""Tips and ideas after moderation (issue 22, as reviews in test_portal_review_news.py): the
author is told of an approval, an answer and an idea's new status (messages read back from
the real SMTP server, a note on their portal home); the manager's to-do lists their
customers' ideas with no answer, waiting for an admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import ChannelConsent
from portal.models import Idea, PortalAccount, Tip
from portal.tasks import post_news_mail

from .factories import CustomerFactory, OfferingFactory
from .mailservers import smtp_server, smtp_settings  # noqa: F401 - fixtures
from .test_portal import eager, signed_in_client, unique_address  # noqa: F401 - a fixture
from .test_portal_review_news import holder, staff

pytestmark = pytest.mark.django_db


def author_of(offering=None, **extra):
    customer = holder(offering) if offering else CustomerFactory(email=unique_address(), **extra)
    PortalAccount.objects.create(customer=customer, display_name=f"Poster {customer.pk}")
    return customer


def post(ada, path, capture, **data):
    with capture(execute=True):
        return staff(ada).post(path, data)


def subjects(smtp, count):
    return [m.message["Subject"] for m in smtp.wait_for(count)]


def test_a_tips_author_reads_of_the_approval_and_the_answer(
    ada,
    smtp_settings,  # noqa: F811 - the fixture
    eager,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks,
):
    offering = OfferingFactory(name="Kenya AA")
    author = author_of(offering)
    tip = Tip.objects.create(customer=author, offering=offering, text="Bloom it first.")
    capture = django_capture_on_commit_callbacks

    assert post(ada, f"/portal/moderation/tips/{tip.pk}/approve/", capture).status_code == 302
    answer = {"answer": "Good one <b>indeed</b>."}
    assert post(ada, f"/portal/moderation/tips/{tip.pk}/answer/", capture, **answer).status_code
    assert subjects(smtp_settings, 2) == [
        "Your tip on Kenya AA is published",
        "Your tip on Kenya AA was answered",
    ]
    (first, second) = smtp_settings.received
    assert first.rcpt_tos == second.rcpt_tos == [author.email]
    body = second.message.get_body(preferencelist=("plain",)).get_content()
    assert "Good one indeed." in body and "/portal/" in body

    home = signed_in_client(author).get("/portal/").content.decode()
    assert "Your tip on Kenya AA was answered" in home and "Good one indeed." in home

    # approving again and the same answer again tell nothing new
    post(ada, f"/portal/moderation/tips/{tip.pk}/approve/", capture)
    post(ada, f"/portal/moderation/tips/{tip.pk}/answer/", capture, **answer)
    assert len(smtp_settings.received) == 2


def test_an_ideas_author_reads_of_the_approval_the_answer_and_a_new_status(
    ada,
    smtp_settings,  # noqa: F811 - the fixture
    eager,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks,
):
    author = author_of()
    idea = Idea.objects.create(customer=author, title="Smaller bags", text="250 g bags.")
    capture = django_capture_on_commit_callbacks
    answer_path = f"/portal/ideas/manage/{idea.pk}/answer/"

    post(ada, f"/portal/moderation/ideas/{idea.pk}/approve/", capture)
    post(ada, answer_path, capture, stage="planned", answer="Coming in spring.")
    post(ada, answer_path, capture, stage="done", answer="")
    assert subjects(smtp_settings, 3) == [
        "Your idea “Smaller bags” is published",
        "Your idea “Smaller bags” was answered",
        "Your idea “Smaller bags” is now done",
    ]
    answered = smtp_settings.received[1].message.get_body(preferencelist=("plain",))
    assert "it is planned." in answered.get_content()
    assert "Coming in spring." in answered.get_content()

    home = signed_in_client(author).get("/portal/").content.decode()
    assert "Your idea “Smaller bags” is done, and was answered: “Coming in spring.”" in home

    # the same status and answer again tell nothing
    post(ada, answer_path, capture, stage="done", answer="Coming in spring.")
    assert len(smtp_settings.received) == 3


def test_a_customer_who_declined_email_is_not_mailed_but_reads_it_in_the_portal(
    ada,
    smtp_settings,  # noqa: F811 - the fixture
    eager,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks,
):
    author = author_of()
    ChannelConsent.objects.create(customer=author, channel="email", granted=False, how="x")
    idea = Idea.objects.create(customer=author, title="Oat milk", text="Please.")
    capture = django_capture_on_commit_callbacks

    post(ada, f"/portal/moderation/ideas/{idea.pk}/approve/", capture)
    post(ada, f"/portal/ideas/manage/{idea.pk}/answer/", capture, stage="under_review")

    assert smtp_settings.received == []
    assert post_news_mail("idea", idea.pk, "stage", "x") == "declined e-mail"
    home = signed_in_client(author).get("/portal/").content.decode()
    assert "Your idea “Oat milk” is under review." in home


def test_news_outdated_or_unknown_is_not_sent(smtp_settings):  # noqa: F811 - the fixture
    offering = OfferingFactory()
    tip = Tip.objects.create(customer=author_of(offering), offering=offering, text="Hm.")
    assert post_news_mail("tip", tip.pk, "approved", "x") == "outdated"  # still pending
    assert post_news_mail("tip", tip.pk, "answered", "x") == "outdated"
    assert post_news_mail("tip", tip.pk, "stage", "x") == "gone"  # tips have no status
    assert post_news_mail("poll", tip.pk, "approved", "x") == "gone"
    assert smtp_settings.received == []


# --- The manager's to-do -------------------------------------------------------------------


def test_an_unanswered_idea_of_the_managers_customer_is_on_their_todo_only(alice, bob, ada):
    old = Idea.objects.create(customer=author_of(owner=alice), title="Refill pouches", text="x")
    fresh = Idea.objects.create(customer=author_of(owner=alice), title="Fresh one", text="x")
    answered = Idea.objects.create(customer=author_of(owner=alice), title="Answered", text="x")
    pending = Idea.objects.create(customer=author_of(owner=alice), title="Pending", text="x")
    Idea.objects.create(customer=author_of(owner=bob), title="Bob's idea", text="x")
    Idea.objects.exclude(pk=pending.pk).update(
        status="published", created_at=timezone.now() - timedelta(hours=30)
    )
    Idea.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(hours=30))
    Idea.objects.filter(pk=fresh.pk).update(created_at=timezone.now())
    Idea.objects.filter(pk=answered.pk).update(staff_answer="Thanks")

    page = staff(alice).get("/workspace/todo/")

    assert [i["title"] for i in page.context["todo"].ideas] == ["Refill pouches"]
    body = page.content.decode()
    assert "waiting for an admin's answer" in body
    assert f'href="/portal/ideas/manage/#idea-{old.pk}"' in body
    assert "Bob&#x27;s idea" not in body and "Fresh one" not in body
    bobs_page = staff(bob).get("/workspace/todo/")
    assert [i["title"] for i in bobs_page.context["todo"].ideas] == ["Bob's idea"]
    assert "Refill pouches" not in bobs_page.content.decode()

    # the link shows the idea to the manager; an admin's answer takes it off the to-do
    manage = staff(alice).get("/portal/ideas/manage/").content.decode()
    assert f'id="idea-{old.pk}"' in manage
    staff(ada).post(f"/portal/ideas/manage/{old.pk}/answer/", {"stage": "planned", "answer": "Yes"})
    assert staff(alice).get("/workspace/todo/").context["todo"].ideas == []
