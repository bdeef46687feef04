"""The email channel's admin pages: for admins only; a mailbox's password stored encrypted
and never shown back; "Poll now" against the real Dovecot; canned replies that are not
working templates refused on the form; bouncing addresses cleared; messages read-only."""

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from mail.models import Attachment, BouncingAddress, CannedReply, Mailbox, Message
from mail.secrets import secret_decrypt, secret_encrypt

from ..mailservers import DOVECOT_CA_FILE, IMAP_PORT

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/mail/",
    "/admin/mail/mailbox/",
    "/admin/mail/mailbox/add/",
    "/admin/mail/rule/",
    "/admin/mail/rule/add/",
    "/admin/mail/cannedreply/",
    "/admin/mail/cannedreply/add/",
    "/admin/mail/bouncingaddress/",
    "/admin/mail/message/",
]


@pytest.fixture
def as_ada(ada):
    client = Client()
    client.force_login(ada)
    return client


@pytest.fixture
def records():
    mailbox = Mailbox.objects.create(name="Support", address="support@firm.example")
    message = Message.objects.create(
        direction="inbound",
        via="pipe",
        message_id="m1@example.net",
        mailbox=mailbox,
        from_address="anna@example.net",
        subject="Where is my order?",
        text="Where is my order?",
    )
    Attachment.objects.create(
        message=message,
        filename="receipt.pdf",
        content_type="application/pdf",
        size=3,
        file=ContentFile(b"%PD", name="receipt.pdf"),
    )
    Attachment.objects.create(
        message=message,
        filename="tool.exe",
        content_type="application/x-msdownload",
        size=10,
        refused="Executable files are not stored.",
    )
    bouncing = BouncingAddress.objects.create(address="gone@example.net", reason="550 no user")
    canned = CannedReply.objects.create(title="Thanks", body="Dear {{ customer.first_name }}")
    return {"mailbox": mailbox, "message": message, "bouncing": bouncing, "canned": canned}


def detail_pages(records) -> list[str]:
    return [
        f"/admin/mail/mailbox/{records['mailbox'].pk}/change/",
        f"/admin/mail/message/{records['message'].pk}/change/",
        f"/admin/mail/bouncingaddress/{records['bouncing'].pk}/change/",
        f"/admin/mail/cannedreply/{records['canned'].pk}/change/",
    ]


def test_the_pages_load_for_an_admin(as_ada, records):
    for url in PAGES + detail_pages(records):
        response = as_ada.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_managers_and_support_are_sent_to_the_admin_sign_in(request, who, records):
    client = Client()
    client.force_login(request.getfixturevalue(who))

    for url in PAGES + detail_pages(records):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url


def mailbox_form(**changes) -> dict:
    data = {
        "name": "Support",
        "address": "support@firm.example",
        "default_type": "inquiry",
        "imap_host": "imap.firm.example",
        "imap_port": "993",
        "imap_security": "ssl",
        "imap_user": "support",
        "imap_password_env": "",
        "password": "",
        "imap_folder": "INBOX",
        "imap_processed_folder": "Processed",
        "imap_enabled": "on",
    }
    return {key: value for key, value in {**data, **changes}.items() if value is not None}


def test_the_password_is_stored_encrypted_and_never_shown_back(as_ada):
    response = as_ada.post("/admin/mail/mailbox/add/", mailbox_form(password="s3cret pass"))

    assert response.status_code == 302
    mailbox = Mailbox.objects.get()
    assert "s3cret" not in mailbox.imap_password_encrypted
    assert secret_decrypt(mailbox.imap_password_encrypted) == "s3cret pass"
    page = as_ada.get(f"/admin/mail/mailbox/{mailbox.pk}/change/").content.decode()
    assert "s3cret" not in page
    assert mailbox.imap_password_encrypted not in page
    assert "yes (encrypted)" in page

    # Saved again with the password left empty: the stored one is kept.
    url = f"/admin/mail/mailbox/{mailbox.pk}/change/"
    assert as_ada.post(url, mailbox_form(imap_user="help")).status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.imap_user, secret_decrypt(mailbox.imap_password_encrypted)) == (
        "help",
        "s3cret pass",
    )


def test_it_names_what_is_missing_or_wrong_and_saves_nothing(as_ada):
    no_password = as_ada.post("/admin/mail/mailbox/add/", mailbox_form())
    both = as_ada.post(
        "/admin/mail/mailbox/add/", mailbox_form(password="x", imap_password_env="IMAP_PASSWORD")
    )
    bad_env = as_ada.post("/admin/mail/mailbox/add/", mailbox_form(imap_password_env="1 BAD"))
    same_folder = as_ada.post(
        "/admin/mail/mailbox/add/", mailbox_form(password="x", imap_processed_folder="INBOX")
    )

    assert no_password.context["adminform"].form.errors == {
        "password": [
            "A password is needed to poll the mailbox: enter it, or name the environment "
            "variable that holds it."
        ]
    }
    assert both.context["adminform"].form.errors == {
        "password": ["Give the password in an environment variable or here, not both."]
    }
    assert bad_env.context["adminform"].form.errors["imap_password_env"] == [
        "Letters, digits and underscores, not starting with a digit."
    ]
    assert same_folder.context["adminform"].form.errors == {
        "imap_processed_folder": ["Processed mail must go to another folder."]
    }
    assert not Mailbox.objects.exists()


def test_poll_now_polls_the_real_server_and_says_what_happened(
    as_ada, imap_account, settings, records
):
    settings.MAIL_IMAP_CA_FILE = str(DOVECOT_CA_FILE)
    imap_account.append(
        b"From: anna@example.net\r\nTo: help@firm.example\r\nSubject: Hello\r\n"
        b"Message-ID: <poll-now-1@example.net>\r\n\r\nHello there\r\n"
    )
    mailbox = Mailbox.objects.create(
        name="Help",
        address="help@firm.example",
        imap_host=imap_account.host,
        imap_port=IMAP_PORT,
        imap_security="starttls",
        imap_user=imap_account.user,
        imap_password_encrypted=secret_encrypt(imap_account.password),
    )
    wrong = Mailbox.objects.create(
        name="Wrong",
        address="wrong@firm.example",
        imap_host=imap_account.host,
        imap_port=IMAP_PORT,
        imap_security="starttls",
        imap_user=imap_account.user,
        imap_password_encrypted=secret_encrypt("not it"),
    )

    response = as_ada.post(
        "/admin/mail/mailbox/",
        {"action": "poll_now", "_selected_action": [mailbox.pk, wrong.pk]},
        follow=True,
    )

    said = [str(m) for m in response.context["messages"]]
    assert said[0] == "help@firm.example: fetched 1, stored 1, duplicates 0, failed 0"
    assert said[1].startswith("wrong@firm.example: fetched 0, stored 0, duplicates 0, failed 0;")
    assert "refused the login" in said[1]
    assert Message.objects.filter(mailbox=mailbox, message_id="poll-now-1@example.net").exists()
    page = as_ada.get("/admin/mail/mailbox/").content.decode()
    assert "failing (1×)" in page


def test_a_canned_reply_that_is_not_a_template_is_refused(as_ada):
    response = as_ada.post(
        "/admin/mail/cannedreply/add/",
        {"title": "Broken", "body": "Dear {{ customer.first_name|shout }}", "active": "on"},
    )
    good = as_ada.post(
        "/admin/mail/cannedreply/add/",
        {"title": "Fine", "body": "Dear {{ customer.first_name }},\n\n{{ me }}", "active": "on"},
    )

    errors = response.context["adminform"].form.errors["body"]
    assert errors == ["The canned reply's template does not work: Invalid filter: 'shout'"]
    assert good.status_code == 302
    assert list(CannedReply.objects.values_list("title", flat=True)) == ["Fine"]


def test_a_bouncing_address_is_cleared(as_ada, records):
    response = as_ada.post(
        "/admin/mail/bouncingaddress/",
        {"action": "clear", "_selected_action": [records["bouncing"].pk]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == ["1 address(es) cleared."]
    assert not BouncingAddress.objects.exists()


def test_a_message_is_read_only_with_its_attachments(as_ada, records):
    url = f"/admin/mail/message/{records['message'].pk}/change/"

    page = as_ada.get(url).content.decode()
    posted = as_ada.post(url, {"subject": "changed"})

    assert "receipt.pdf" in page and "Executable files are not stored." in page
    assert 'name="subject"' not in page
    assert posted.status_code == 403
    assert as_ada.get("/admin/mail/message/add/").status_code == 403
    records["message"].refresh_from_db()
    assert records["message"].subject == "Where is my order?"
