"""Reviews after moderation (issue 22): the author is told of an approval or an answer (a
message read back from the real SMTP server, a note on their portal home); a hidden review's
rating stops counting in the offering's rating and the others' O term, and counts again when
approved; the manager's to-do lists their customers' unanswered reviews."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import ChannelConsent
from interactions.models import OfferingRating
from interactions.selectors import ratings_by_customer
from interactions.services import offering_rating_record
from portal.models import PortalAccount, Review
from valuation.models import CustomerFigures
from valuation.selectors import customer_valuation_explained

from .factories import CustomerFactory, OfferingFactory
from .mailservers import smtp_server, smtp_settings  # noqa: F401 - fixtures
from .test_portal import eager, signed_in_client, unique_address  # noqa: F401 - a fixture
from .valuation.history import log_order

pytestmark = pytest.mark.django_db


def holder(offering, **extra):
    customer = CustomerFactory(email=unique_address(), **extra)
    log_order(customer, offering, days_ago=10)
    return customer


def pending_review(offering, rating=2, text="Too bitter.", **extra) -> Review:
    author = holder(offering, **extra)
    PortalAccount.objects.create(customer=author, display_name=f"Taster {author.pk}")
    return Review.objects.create(customer=author, offering=offering, rating=rating, text=text)


def staff(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def moderate(ada, review, action, capture, **data):
    with capture(execute=True):
        return staff(ada).post(f"/portal/moderation/{review.pk}/{action}/", data)


# --- The author is told ------------------------------------------------------------------


def test_the_author_reads_of_the_approval_and_the_answer_in_their_mailbox_and_portal(
    ada,
    smtp_settings,  # noqa: F811 - the fixture
    eager,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks,
):
    offering = OfferingFactory(name="House Blend")
    review = pending_review(offering)
    author = review.customer

    assert moderate(ada, review, "approve", django_capture_on_commit_callbacks).status_code == 302
    (approved,) = smtp_settings.wait_for(1)
    assert approved.rcpt_tos == [author.email]
    assert approved.message["Subject"] == "Your review of House Blend is published"

    answer = {"answer": "Thank you: try it <b>with milk</b>."}
    assert (
        moderate(ada, review, "answer", django_capture_on_commit_callbacks, **answer).status_code
        == 302
    )
    _, answered = smtp_settings.wait_for(2)
    assert answered.message["Subject"] == "Your review of House Blend was answered"
    body = answered.message.get_body(preferencelist=("plain",)).get_content()
    assert "Thank you: try it with milk." in body and "/portal/" in body

    home = signed_in_client(author).get("/portal/").content.decode()
    assert "Your review of House Blend was answered" in home
    assert "Thank you: try it with milk." in home

    # approving again (a reported review) or the same answer again tells nothing new
    moderate(ada, review, "approve", django_capture_on_commit_callbacks)
    moderate(ada, review, "answer", django_capture_on_commit_callbacks, **answer)
    assert len(smtp_settings.received) == 2


def test_a_customer_who_declined_email_is_not_mailed_but_reads_it_in_the_portal(
    ada,
    smtp_settings,  # noqa: F811 - the fixture
    eager,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks,
):
    offering = OfferingFactory(name="Decaf")
    review = pending_review(offering)
    ChannelConsent.objects.create(customer=review.customer, channel="email", granted=False, how="x")

    moderate(ada, review, "approve", django_capture_on_commit_callbacks)
    moderate(ada, review, "answer", django_capture_on_commit_callbacks, answer="Thanks!")

    assert smtp_settings.received == []
    home = signed_in_client(review.customer).get("/portal/").content.decode()
    assert "Your review of Decaf was answered" in home


def test_a_mail_server_away_never_fails_the_moderation(
    ada,
    settings,
    eager,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks,
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    review = pending_review(OfferingFactory())

    response = moderate(ada, review, "approve", django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert Review.objects.get(pk=review.pk).status == "published"


def test_an_answer_that_is_only_markup_is_a_clear_error(ada, django_capture_on_commit_callbacks):
    review = pending_review(OfferingFactory())
    response = moderate(
        ada, review, "answer", django_capture_on_commit_callbacks, answer="<script>x</script>"
    )
    assert response.status_code == 400 and "Write the answer." in response.content.decode()


# --- A hidden review's rating does not count -----------------------------------------------


def others_opinion(customer) -> float | None:
    return customer_valuation_explained(customer_id=customer.pk).intermediates[
        "experience_others_opinion"
    ]


def test_hiding_withdraws_the_rating_and_approving_again_restores_it(
    ada, alice, django_capture_on_commit_callbacks
):
    offering = OfferingFactory()
    reader, rater = holder(offering), holder(offering)
    offering_rating_record(customer=rater, offering=offering, rating=5, recorded_by=alice)
    review = pending_review(offering, rating=1)
    assert others_opinion(reader) == pytest.approx(1.0)  # the other rating, 5 of 5

    moderate(ada, review, "approve", django_capture_on_commit_callbacks)
    assert others_opinion(reader) == pytest.approx(0.5)  # (5 + 1) / 2 = 3 of 5
    _, others = ratings_by_customer(customer_ids=[reader.pk])
    assert float(others[0]["mean"]) == 3.0
    requested = CustomerFigures.objects.get(customer=reader).figures_requested_at

    moderate(ada, review, "hide", django_capture_on_commit_callbacks)

    assert not OfferingRating.objects.filter(customer=review.customer).exists()
    assert others_opinion(reader) == pytest.approx(1.0)
    _, others = ratings_by_customer(customer_ids=[reader.pk])
    assert float(others[0]["mean"]) == 5.0
    # the holders' figures were asked for again (rating.withdrawn), the author's too
    assert CustomerFigures.objects.get(customer=reader).figures_requested_at > requested
    assert CustomerFigures.objects.filter(customer=review.customer).exists()

    moderate(ada, review, "approve", django_capture_on_commit_callbacks)
    assert OfferingRating.objects.get(customer=review.customer).rating == 1
    assert others_opinion(reader) == pytest.approx(0.5)


def test_hiding_keeps_a_rating_staff_recorded_later(ada, alice, django_capture_on_commit_callbacks):
    offering = OfferingFactory()
    review = pending_review(offering, rating=1)
    moderate(ada, review, "approve", django_capture_on_commit_callbacks)
    offering_rating_record(customer=review.customer, offering=offering, rating=4, recorded_by=alice)

    moderate(ada, review, "hide", django_capture_on_commit_callbacks)

    assert OfferingRating.objects.get(customer=review.customer).rating == 4


# --- The manager's to-do -------------------------------------------------------------------


def test_an_unanswered_review_of_the_managers_customer_is_on_their_todo(alice, bob, charlie):
    offering = OfferingFactory(name="Espresso")
    old = pending_review(offering, owner=alice, text="Could be stronger.")
    fresh = pending_review(offering, owner=alice)
    answered = pending_review(offering, owner=alice)
    bobs = pending_review(offering, owner=bob)
    day_ago = timezone.now() - timedelta(hours=30)
    Review.objects.update(status="published", updated_at=day_ago)
    Review.objects.filter(pk=fresh.pk).update(updated_at=timezone.now())
    Review.objects.filter(pk=answered.pk).update(staff_answer="Thanks")

    page = staff(alice).get("/workspace/todo/")

    assert [r["customer"] for r in page.context["todo"].reviews] == [old.customer]
    body = page.content.decode()
    assert "Could be stronger." in body and f'href="/portal/reviews/{old.pk}/answer/"' in body
    assert bobs.customer.name not in body

    # the link answers it, and it leaves the to-do
    assert staff(alice).get(f"/portal/reviews/{old.pk}/answer/").status_code == 200
    assert staff(bob).get(f"/portal/reviews/{old.pk}/answer/").status_code == 404
    answer = staff(alice).post(f"/portal/reviews/{old.pk}/answer/", {"answer": "We will!"})
    assert answer.status_code == 302
    assert Review.objects.get(pk=old.pk).staff_answer == "We will!"
    assert staff(alice).get("/workspace/todo/").context["todo"].reviews == []
    bad = staff(charlie).post(f"/portal/reviews/{bobs.pk}/answer/", {"answer": ""})
    assert bad.status_code == 400 and "answer: This field is required." in bad.content.decode()
