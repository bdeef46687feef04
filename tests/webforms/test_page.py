"""The hosted page: public, framed only by the form's sites, and hard on robots without being
hard on people."""

import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from interactions.models import Interaction
from webforms.models import ContactForm, Submission
from webforms.tokens import page_token_make

from .helpers import aged_token, filled

pytestmark = pytest.mark.django_db
URL = "/forms/contact/"


def nothing_stored() -> bool:
    return not (
        Submission.objects.exists() or Interaction.objects.exists() or Customer.objects.exists()
    )


def test_the_page_shows_the_fields_a_token_and_a_honeypot_and_sets_no_cookie(client, contact_form):
    response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    for name in ("name", "email", "phone", "message", "token", "homepage"):
        assert f'name="{name}"' in page
    assert 'class="hp" aria-hidden="true"' in page
    assert not response.cookies  # nothing a third-party iframe would lose
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_only_the_forms_own_sites_may_frame_it(client, contact_form):
    response = client.get(URL)

    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.example-roastery.com http://localhost:8123" in csp
    assert "X-Frame-Options" not in response
    # Every other page stays unframeable.
    other = client.get("/accounts/login/")
    assert "frame-ancestors 'none'" in other["Content-Security-Policy"]
    assert other["X-Frame-Options"] == "DENY"


def test_a_refused_post_is_framed_the_same_way(client, contact_form):
    response = client.post(URL, filled(contact_form, email="not an address"))

    assert response.status_code == 400
    assert "https://www.example-roastery.com" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response


def test_a_form_without_sites_opens_only_as_its_own_page(client, contact_form):
    contact_form.allowed_origins = ""
    contact_form.save()

    csp = client.get(URL)["Content-Security-Policy"]

    assert "frame-ancestors 'self';" in csp or csp.endswith("frame-ancestors 'self'")


@pytest.mark.parametrize("slug", ["contact", "nobody"])
def test_an_inactive_or_unknown_form_is_not_found(client, contact_form, slug):
    ContactForm.objects.filter(pk=contact_form.pk).update(active=False)

    assert client.get(f"/forms/{slug}/").status_code == 404
    assert client.post(f"/forms/{slug}/", filled(contact_form)).status_code == 404
    assert nothing_stored()


def test_a_filled_honeypot_looks_accepted_and_keeps_nothing(client, contact_form):
    response = client.post(URL, filled(contact_form, homepage="http://spam.example"))

    assert response.status_code == 200
    assert "Message sent" in response.content.decode()
    assert nothing_stored()


def test_a_post_within_three_seconds_of_the_page_is_refused_with_a_way_forward(
    client, contact_form
):
    response = client.post(URL, filled(contact_form, token=aged_token(contact_form, seconds=1)))

    assert response.status_code == 400
    page = response.content.decode()
    assert "quicker than we expected" in page and "send it again" in page
    assert "Do you deliver to Malmö?" in page  # what they wrote is still there
    assert nothing_stored()


def test_the_refused_page_carries_a_new_token_that_is_accepted_later(
    client, contact_form, monkeypatch
):
    sent = filled(contact_form, token=aged_token(contact_form, seconds=1))
    refused = client.post(URL, sent)
    fresh = refused.context["form"].data["token"]
    assert fresh != sent["token"]

    later = time.time() + 5
    monkeypatch.setattr("webforms.tokens.time.time", lambda: later)
    assert client.post(URL, {**sent, "token": fresh}).status_code == 200
    assert Submission.objects.count() == 1


def test_a_page_open_for_more_than_a_day_is_refused(client, contact_form):
    old = aged_token(contact_form, seconds=24 * 3600 + 60)

    response = client.post(URL, filled(contact_form, token=old))

    assert response.status_code == 400
    assert "open for a long time" in response.content.decode()
    assert nothing_stored()


@pytest.mark.parametrize("token", ["", "forged", "eyJmIjoxfQ:1abc:xyz"])
def test_a_missing_or_forged_token_is_refused(client, contact_form, token):
    response = client.post(URL, filled(contact_form, token=token))

    assert response.status_code == 400
    assert "could not check this page" in response.content.decode()
    assert nothing_stored()


def test_a_token_of_another_form_is_refused(client, contact_form):
    other = ContactForm.objects.create(name="Complaints", slug="complaints")

    token = aged_token(other)
    response = client.post(URL, filled(contact_form, token=token))

    assert response.status_code == 400
    assert nothing_stored()


def test_too_many_messages_from_one_address_get_a_friendly_429(client, contact_form, settings):
    settings.WEBFORM_RATE_PER_IP = "2/hour"
    for n in range(2):
        assert client.post(URL, filled(contact_form, email=f"p{n}@example.org")).status_code == 200

    response = client.post(URL, filled(contact_form, email="p3@example.org"))

    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "try again in an hour" in response.content.decode()
    assert "https://www.example-roastery.com" in response["Content-Security-Policy"]
    assert Submission.objects.count() == 2
    # Another address is not held back.
    other = client.post(
        URL, filled(contact_form, email="p4@example.org"), REMOTE_ADDR="203.0.113.9"
    )
    assert other.status_code == 200


def test_bad_input_shows_the_form_again_with_each_problem(client, contact_form):
    response = client.post(
        URL,
        filled(contact_form, name="", email="greta@", phone="call me maybe", message=""),
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"name", "email", "phone", "message"}
    assert nothing_stored()


def test_huge_values_are_refused_not_stored(client, contact_form):
    response = client.post(
        URL,
        filled(contact_form, name="N" * 10_000, message="m" * 1_000_000, phone="1" * 500),
    )

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "message", "phone"}
    assert nothing_stored()


def test_a_nul_byte_is_refused_with_400(client, contact_form):
    response = client.post(URL, filled(contact_form, message="hello\x00world"))

    assert response.status_code == 400
    assert nothing_stored()


def test_control_characters_in_a_name_are_refused_but_a_message_keeps_its_lines(
    client, contact_form
):
    refused = client.post(URL, filled(contact_form, name="Greta\r\nBcc: x@example.org"))
    assert refused.status_code == 400 and "name" in refused.context["form"].errors

    accepted = client.post(URL, filled(contact_form, message="line one\r\n\tline two"))
    assert accepted.status_code == 200
    assert Interaction.objects.get().notes == "line one\n\tline two"


def test_only_get_and_post_are_answered(client, contact_form):
    assert client.put(URL, "x").status_code == 405
    assert client.delete(URL).status_code == 405


def test_a_fresh_token_is_accepted_once_three_seconds_have_passed(client, contact_form):
    token = page_token_make(form_id=contact_form.pk, now=time.time() - 3.2)
    assert client.post(URL, filled(contact_form, token=token)).status_code == 200


text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
huge = st.sampled_from(
    ["", "x" * 6000, "é" * 300, "\x00", "\r\n" * 100, "<script>alert(1)</script>"]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.one_of(text, huge),
    email=st.one_of(text, huge, st.emails()),
    phone=st.one_of(text, huge),
    message=st.one_of(text, huge),
    homepage=st.sampled_from(["", "", "", "x"]),
    extra=st.dictionaries(st.text(min_size=1, max_size=20), text, max_size=3),
)
@example(name="Zoë", email="zoe@example.org", phone="", message="Hi", homepage="", extra={})
def test_whatever_is_posted_it_never_answers_5xx(
    client, contact_form, name, email, phone, message, homepage, extra
):
    data = {**extra, **filled(contact_form, name=name, email=email, phone=phone, message=message)}
    data["homepage"] = homepage
    before = Submission.objects.count()
    response = client.post(URL, data)

    assert response.status_code in (200, 400), response.content[:500]
    stored = Submission.objects.count() - before
    assert stored == (1 if response.status_code == 200 and not homepage else 0)
