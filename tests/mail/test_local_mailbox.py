"""The local mailbox of the embedded default: what the app sends stays on the machine and
can be read and answered as the customer, through the inbound service."""

import pytest
from django.core.mail import EmailMessage
from django.urls import reverse

from mail.local import local_messages
from mail.models import Mailbox, Message
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def local(settings, tmp_path):
    settings.EMAIL_BACKEND = "mail.backends.LocalMailboxBackend"
    settings.MAIL_LOCAL_MAILDIR = tmp_path / "mail"
    Mailbox.objects.create(name="Support", address="support@firm.example", is_default=True)


def _send():
    EmailMessage(
        subject="Re: Grinder [#7]",
        body="We will send a technician.",
        from_email="support@firm.example",
        to=["anna@example.net"],
        reply_to=["support+t7-abc@firm.example"],
        headers={"Message-ID": "<sent.1@firm.example>"},
    ).send()


def test_sent_mail_lands_in_the_local_mailbox_for_support_only(local, client, charlie, alice):
    _send()

    assert [item.subject for item in local_messages()] == ["Re: Grinder [#7]"]
    client.force_login(charlie)
    page = client.get(reverse("mail-local:list"))
    assert page.status_code == 200
    assert b"We will send a technician." in page.content
    assert b"support+t7-abc@firm.example" in page.content
    client.force_login(alice)
    assert client.get(reverse("mail-local:list")).status_code == 403


def test_answering_as_the_customer_goes_in_like_real_mail(local, client, charlie, alice):
    anna = CustomerFactory(owner=alice, email="anna@example.net")
    _send()
    key = local_messages()[0].key
    client.force_login(charlie)

    form = client.get(reverse("mail-local:answer", args=[key]))
    assert form.status_code == 200
    initial = form.context["form"].initial
    assert initial["sender"] == "anna@example.net"
    assert initial["in_reply_to"] == "<sent.1@firm.example>"

    response = client.post(
        reverse("mail-local:answer", args=[key]),
        {**initial, "body": "Tuesday is fine.", "keep_headers": ""},
    )

    assert response.status_code == 302
    message = Message.objects.get(via="local")
    assert message.interaction.customer == anna
    assert message.in_reply_to == ""  # a client that keeps only the subject


def test_the_answer_form_refuses_header_injection(local, client, charlie):
    client.force_login(charlie)
    response = client.post(
        reverse("mail-local:write"),
        {
            "sender": "x@example.net",
            "to": "support@firm.example",
            "subject": "Hi\r\nBcc: victim@example.net",
            "body": "x",
        },
    )
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_the_local_mailbox_is_gone_when_mail_really_leaves(client, ada, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    client.force_login(ada)
    assert client.get(reverse("mail-local:list")).status_code == 404
