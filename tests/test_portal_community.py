"""The portal's community (docs/portal.md): display names, reviews of held offerings, the
admins' moderation, reports, the public page that shows display names only, rate limits."""

import hashlib

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from interactions.models import OfferingRating
from interactions.selectors import ratings_by_customer
from portal.models import PortalAccount, Review, ReviewReport

from .factories import CustomerFactory, OfferingFactory
from .test_portal import signed_in_client
from .valuation.history import log_order

pytestmark = pytest.mark.django_db


def holder(offering, **extra):
    customer = CustomerFactory(**extra)
    log_order(customer, offering, days_ago=10)
    return customer


def named(customer, name):
    client = signed_in_client(customer)
    response = client.post("/portal/display-name/", {"display_name": name})
    assert response.status_code == 302, response.content
    return client


def post_review(client, offering, rating="4", text="Good beans.\nFresh."):
    return client.post(f"/portal/offerings/{offering.pk}/review/", {"rating": rating, "text": text})


def staff(ada):
    client = Client()
    client.force_login(ada)
    return client


def test_a_customer_who_never_ordered_the_offering_is_refused():
    offering = OfferingFactory()
    stranger = CustomerFactory()
    client = named(stranger, "Stranger One")
    response = post_review(client, offering)
    assert response.status_code == 403
    assert b"Only customers who ordered" in response.content
    assert not Review.objects.exists()


def test_a_display_name_comes_first_and_is_checked():
    offering = OfferingFactory()
    customer = holder(offering, name="Jane Realname", email="jane.real@example.net")
    other = holder(offering)
    client = signed_in_client(customer)
    assert post_review(client, offering).status_code == 400  # no display name yet
    for bad in ("x", "y" * 41, "someone@example.net", "Jane Realname", "jane.real@example.net"):
        response = client.post("/portal/display-name/", {"display_name": bad})
        assert response.status_code == 400, bad
        assert b"display name" in response.content
    named(other, "Bean Lover")
    response = client.post("/portal/display-name/", {"display_name": "bean LOVER"})
    assert response.status_code == 400 and b"taken" in response.content
    assert client.post("/portal/display-name/", {"display_name": "Night Owl"}).status_code == 302
    assert PortalAccount.objects.get(customer=customer).display_name == "Night Owl"


def test_a_holders_review_waits_then_an_admin_approves_and_the_public_page_shows_the_name_only(
    ada,
):
    offering = OfferingFactory()
    author = holder(offering, name="Gretchen Secretname", email="gretchen.secret@example.net")
    others = [holder(offering) for _ in range(2)]
    client = named(author, "Coffee Fan")
    assert post_review(client, offering, rating="2").status_code == 302
    review = Review.objects.get(customer=author, offering=offering)
    assert review.status == "pending"
    assert not OfferingRating.objects.filter(customer=author).exists()  # not yet heard
    public = Client().get(f"/offerings/{offering.pk}/reviews/")
    assert public.status_code == 200 and b"Coffee Fan" not in public.content

    moderation = staff(ada).get("/portal/moderation/")
    assert moderation.status_code == 200 and b"Coffee Fan" in moderation.content
    assert staff(ada).post(f"/portal/moderation/{review.pk}/approve/").status_code == 302
    review.refresh_from_db()
    assert review.status == "published"
    assert not PortalAccount.objects.get(customer=author).posts_need_approval

    public = Client().get(f"/offerings/{offering.pk}/reviews/")
    body = public.content.decode()
    assert "Coffee Fan" in body and "Good beans.<br>Fresh." in body
    assert "Gretchen" not in body and "Secretname" not in body and "gretchen.secret" not in body
    # The rating feeds the valuation's "others' opinion" term of the other holders.
    assert OfferingRating.objects.get(customer=author, offering=offering).rating == 2
    _, others_rating = ratings_by_customer(customer_ids=[c.pk for c in others])
    assert {row["customer_id"]: float(row["mean"]) for row in others_rating} == {
        c.pk: 2.0 for c in others
    }

    # Approved once: later posts publish at once; editing replaces the one review.
    assert post_review(client, offering, rating="5", text="Better now").status_code == 302
    review.refresh_from_db()
    assert (review.status, review.rating, review.text) == ("published", 5, "Better now")
    assert Review.objects.filter(customer=author).count() == 1
    assert OfferingRating.objects.get(customer=author, offering=offering).rating == 5


def test_hide_answer_and_report(ada):
    offering = OfferingFactory()
    author, reader = holder(offering), CustomerFactory()
    client = named(author, "Author Name")
    post_review(client, offering)
    review = Review.objects.get()
    reader_client = signed_in_client(reader)
    # A pending review cannot be reported.
    assert reader_client.post(f"/portal/reviews/{review.pk}/report/").status_code == 400
    staff(ada).post(f"/portal/moderation/{review.pk}/approve/")
    assert (
        staff(ada).post(f"/portal/moderation/{review.pk}/answer/", {"answer": ""}).status_code
        == 400
    )
    answer = {"answer": "Thank you, we <b>roast</b> weekly."}
    assert staff(ada).post(f"/portal/moderation/{review.pk}/answer/", answer).status_code == 302
    page = Client().get(f"/offerings/{offering.pk}/reviews/").content.decode()
    assert "Thank you, we roast weekly." in page and "<b>roast" not in page

    # Report: once each; the reported review is in moderation.
    assert b"Author Name" not in staff(ada).get("/portal/moderation/").content
    assert reader_client.post(f"/portal/reviews/{review.pk}/report/").status_code == 302
    assert reader_client.post(f"/portal/reviews/{review.pk}/report/").status_code == 400
    assert ReviewReport.objects.filter(review=review).count() == 1
    moderation = staff(ada).get("/portal/moderation/").content
    assert b"Author Name" in moderation and b"reported 1" in moderation
    assert staff(ada).post(f"/portal/moderation/{review.pk}/hide/").status_code == 302
    review.refresh_from_db()
    assert review.status == "hidden"
    assert b"Author Name" not in Client().get(f"/offerings/{offering.pk}/reviews/").content
    assert b"Author Name" not in staff(ada).get("/portal/moderation/").content


def test_a_script_in_the_text_never_comes_out_as_markup(ada):
    offering = OfferingFactory()
    author = holder(offering)
    client = named(author, "Scripter")
    text = 'Nice<script>alert("x")</script> <img src=x onerror=alert(1)> &lt;script&gt;go'
    assert post_review(client, offering, text=text).status_code == 302
    review = Review.objects.get()
    assert "alert" not in review.text and "<img" not in review.text
    staff(ada).post(f"/portal/moderation/{review.pk}/approve/")
    page = Client().get(f"/offerings/{offering.pk}/reviews/").content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;go" in page  # what the customer typed as text stays text, escaped


@override_settings(PORTAL_POST_RATE="3/hour")
def test_posting_is_rate_limited_per_customer():
    offering = OfferingFactory()
    quick = holder(offering)
    # Redis keeps counts across test runs, whose databases reuse customer ids.
    cache.delete(
        f"ratelimit:portal-review-post:{hashlib.sha256(str(quick.pk).encode()).hexdigest()}"
    )
    client = named(quick, "Quick Poster")
    statuses = [post_review(client, offering).status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    # Another customer has their own count.
    slow = holder(offering)
    cache.delete(
        f"ratelimit:portal-review-post:{hashlib.sha256(str(slow.pk).encode()).hexdigest()}"
    )
    assert post_review(named(slow, "Slow Poster"), offering).status_code == 302


def test_the_staff_customer_page_lists_the_customers_reviews(ada):
    offering = OfferingFactory(name="Colombia Huila")
    author = holder(offering)
    post_review(named(author, "Staff Sees"), offering)
    page = staff(ada).get(f"/customers/{author.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Reviews in the portal" in body and "Colombia Huila" in body
    assert "Waiting for approval" in body


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"rating": "0", "text": "x"},
        {"rating": "6", "text": "x"},
        {"rating": "abc", "text": "x"},
        {"rating": "3", "text": ""},
        {"rating": "3", "text": "<script></script>"},
        {"rating": "3", "text": "x" * 5000},
        {"rating": "3", "text": "\x00"},
        {"rating": ["1", "2"], "text": ["a", "b"]},
    ],
)
def test_bad_input_is_a_form_error_never_a_5xx(data, ada):
    offering = OfferingFactory()
    client = named(holder(offering), "Fuzzy Input")
    response = client.post(f"/portal/offerings/{offering.pk}/review/", data)
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:  # the form's error, or the site's page for a NUL byte
        assert b'role="alert"' in response.content or b"not allowed" in response.content
    assert client.post("/portal/display-name/", {"display_name": "\x00" * 3}).status_code == 400
    missing = {"rating": "3", "text": "fine"}
    assert (
        client.post(f"/portal/offerings/{offering.pk + 99999}/review/", missing).status_code == 404
    )
    assert client.post("/portal/reviews/99999/report/").status_code == 404
    assert staff(ada).post("/portal/moderation/99999/hide/").status_code == 404
    assert Client().get(f"/offerings/{offering.pk + 99999}/reviews/").status_code == 404


def test_a_customer_session_is_nobody_to_moderation_and_staff_are_nobody_to_posting(alice):
    offering = OfferingFactory()
    author = holder(offering)
    client = named(author, "Wall Tester")
    post_review(client, offering)
    review = Review.objects.get()
    response = client.get("/portal/moderation/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert client.post(f"/portal/moderation/{review.pk}/approve/").status_code == 302
    review.refresh_from_db()
    assert review.status == "pending"
    manager = staff(alice)
    assert manager.get("/portal/moderation/").status_code == 403
    assert manager.post(f"/portal/moderation/{review.pk}/hide/").status_code == 403
    response = manager.post(
        f"/portal/offerings/{offering.pk}/review/", {"rating": "1", "text": "x"}
    )
    assert response.status_code == 302 and response.url == "/portal/sign-in/"
    review.refresh_from_db()
    assert (review.status, review.rating) == ("pending", 4)
