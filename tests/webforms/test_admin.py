"""The admin configures forms, copies the snippet that embeds them, and reads what came in."""

import pytest

from webforms.models import ContactForm, Submission

from .helpers import filled

pytestmark = pytest.mark.django_db


def test_the_admin_creates_a_form_and_sees_the_snippet_to_copy(client, ada):
    client.force_login(ada)
    response = client.post(
        "/admin/webforms/contactform/add/",
        {
            "name": "Wholesale inquiries",
            "slug": "wholesale",
            "interaction_type": "inquiry",
            "success_message": "Thanks!",
            "allowed_origins": "https://www.Example-Roastery.com/\nhttps://shop.example-roastery.com",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    form = ContactForm.objects.get(slug="wholesale")
    assert form.origins() == [
        "https://www.example-roastery.com",
        "https://shop.example-roastery.com",
    ]

    page = client.get(f"/admin/webforms/contactform/{form.pk}/change/").content.decode()
    assert "Put it on your site" in page
    assert (
        "&lt;iframe src=&quot;http://testserver/forms/wholesale/&quot; "
        "title=&quot;Wholesale inquiries&quot;"
    ) in page  # shown as text in a read-only box, to copy
    assert "readonly data-copy-source" in page
    assert '<iframe src="http://testserver/forms/wholesale/"' in page  # the preview


@pytest.mark.parametrize(
    "origins",
    [
        "www.example.com",  # no scheme
        "https://www.example.com/contact",  # a path
        "https://example.com; script-src *",  # a second CSP directive
        "javascript:alert(1)",
        "https://a.example 'unsafe-inline'",
    ],
)
def test_an_origin_that_is_not_one_is_refused_by_name(client, ada, origins):
    client.force_login(ada)
    response = client.post(
        "/admin/webforms/contactform/add/",
        {"name": "X", "slug": "x", "interaction_type": "inquiry", "success_message": "ok",
         "allowed_origins": origins},
    )  # fmt: skip
    assert response.status_code == 200
    assert "allowed_origins" in response.context["adminform"].form.errors
    assert not ContactForm.objects.exists()


def test_a_confirmation_needs_its_text(client, ada):
    client.force_login(ada)
    response = client.post(
        "/admin/webforms/contactform/add/",
        {"name": "X", "slug": "x", "interaction_type": "inquiry", "success_message": "ok",
         "confirm_by_email": "on", "confirmation_text": ""},
    )  # fmt: skip
    assert "confirmation_text" in response.context["adminform"].form.errors


def test_submissions_are_read_only_in_the_admin(client, ada, contact_form):
    client.post("/forms/contact/", filled(contact_form))
    submission = Submission.objects.get()
    client.force_login(ada)

    listing = client.get("/admin/webforms/submission/")
    assert listing.status_code == 200 and "greta@example.org" in listing.content.decode()
    page = client.get(f"/admin/webforms/submission/{submission.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get("/admin/webforms/submission/add/").status_code == 403
    assert client.post(f"/admin/webforms/submission/{submission.pk}/delete/").status_code == 403


def test_managers_and_support_do_not_reach_the_forms_admin(client, alice, charlie):
    for user in (alice, charlie):
        client.force_login(user)
        assert client.get("/admin/webforms/contactform/").status_code == 302
