"""The send against a real SMTP server (aiosmtpd, tests/mailservers.py), in this process:
what the customer's mail server receives, failures, retries and header injection."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from interactions.services import interaction_log
from mail.models import Message
from mail.services import MailTransientError, mail_reply_send, mail_send
from mail.tokens import thread_token

from .helpers import inbound_mail, mailbox_default

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(alices_customer):
    return inbound_mail(alices_customer, mailbox=mailbox_default(), references="root@example.net")


def test_the_customer_receives_a_reply_that_threads_in_their_client(smtp_settings, thread, charlie):
    manual = SimpleUploadedFile("manual.pdf", b"%PDF-1.4 manual", content_type="application/pdf")
    reply = mail_reply_send(
        interaction=thread, body="We send a new one.", sent_by=charlie, attachments=[manual]
    )
    message = reply.message

    assert mail_send(message_id=message.pk) == "sent"

    (received,) = smtp_settings.wait_for(1)
    mail = received.message
    assert received.rcpt_tos == ["anna@example.net"]
    assert mail["Message-ID"] == f"<{message.message_id}>"
    assert mail["In-Reply-To"] == "<abc@example.net>"
    assert mail["References"] == "<root@example.net> <abc@example.net>"
    assert mail["Reply-To"] == f"support+{thread_token(thread.pk)}@firm.example"
    assert mail["Subject"] == f"Re: Grinder broken [#{thread.pk}]"
    assert mail["From"] == "Charlie <support@firm.example>"
    assert mail["To"] == "anna@example.net"
    assert mail.get_body(("plain",)).get_content().strip() == "We send a new one."
    (attached,) = list(mail.iter_attachments())
    assert (attached.get_filename(), attached.get_content()) == ("manual.pdf", b"%PDF-1.4 manual")
    message.refresh_from_db()
    assert (message.delivery, message.attempts, message.delivery_error) == ("sent", 1, "")
    assert message.sent_at is not None


def test_a_message_sent_once_is_not_sent_again(smtp_settings, thread, charlie):
    message = mail_reply_send(interaction=thread, body="Hi", sent_by=charlie).message
    assert mail_send(message_id=message.pk) == "sent"
    assert mail_send(message_id=message.pk) == "skipped"
    assert len(smtp_settings.received) == 1


def test_a_transient_failure_is_retried_and_then_sent(smtp_settings, thread, charlie):
    message = mail_reply_send(interaction=thread, body="Hi", sent_by=charlie).message
    smtp_settings.fail_next("451 4.3.0 Try again later")

    with pytest.raises(MailTransientError):
        mail_send(message_id=message.pk, retrying=True)
    message.refresh_from_db()
    assert (message.delivery, message.attempts) == ("queued", 1)
    assert message.delivery_error == "451 4.3.0 Try again later (attempt 1, trying again)"

    assert mail_send(message_id=message.pk, retrying=True) == "sent"
    message.refresh_from_db()
    assert (message.delivery, message.attempts, message.delivery_error) == ("sent", 2, "")
    assert len(smtp_settings.received) == 1


def test_the_last_try_of_a_transient_failure_fails_visibly(smtp_settings, thread, charlie):
    message = mail_reply_send(interaction=thread, body="Hi", sent_by=charlie).message
    smtp_settings.fail_always("451 4.3.0 Try again later")
    assert mail_send(message_id=message.pk, retrying=False) == "failed"
    message.refresh_from_db()
    assert (message.delivery, message.delivery_error) == ("failed", "451 4.3.0 Try again later")


def test_a_permanent_failure_is_not_retried(smtp_settings, thread, charlie):
    message = mail_reply_send(interaction=thread, body="Hi", sent_by=charlie).message
    smtp_settings.fail_next("550 5.1.1 No such user")
    assert mail_send(message_id=message.pk, retrying=True) == "failed"
    message.refresh_from_db()
    assert (message.delivery, message.delivery_error) == ("failed", "550 5.1.1 No such user")
    assert smtp_settings.attempts == 1


def test_a_server_that_is_not_there_is_a_transient_failure(settings, thread, charlie):
    from tests.mailservers import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    message = mail_reply_send(interaction=thread, body="Hi", sent_by=charlie).message
    with pytest.raises(MailTransientError):
        mail_send(message_id=message.pk, retrying=True)
    message.refresh_from_db()
    assert message.delivery == "queued"
    assert message.delivery_error.startswith(
        "Could not reach the mail server: ConnectionRefusedError"
    )


def test_line_breaks_in_a_stored_subject_or_a_name_never_make_a_header(
    smtp_settings, alices_customer, charlie
):
    # An item logged through the API may carry any subject; a user's name is the admin's.
    item = interaction_log(
        customer=alices_customer,
        logged_by=None,
        channel="web",
        direction="inbound",
        type="inquiry",
        subject="Help\r\nBcc: evil@example.org\r\nX-Injected: subject",
    )
    charlie.first_name = "Charlie\r\nX-Injected: name"
    charlie.last_name = "\nBcc: evil2@example.org"
    charlie.save()
    message = mail_reply_send(interaction=item, body="Hi", sent_by=charlie).message
    assert mail_send(message_id=message.pk) == "sent"

    (received,) = smtp_settings.wait_for(1)
    assert received.rcpt_tos == ["anna@example.net"]
    headers = {name.lower() for name in received.message}
    assert "bcc" not in headers and "x-injected" not in headers
    assert received.message["Subject"] == (
        f"Re: Help Bcc: evil@example.org X-Injected: subject [#{item.pk}]"
    )
    assert "\n" not in received.message["From"]
    assert received.message["From"].addresses[0].addr_spec == "support@crm.localhost"


def test_a_stored_recipient_with_a_line_break_is_refused_not_sent(smtp_settings, thread, charlie):
    message = mail_reply_send(interaction=thread, body="Hi", sent_by=charlie).message
    Message.objects.filter(pk=message.pk).update(to=["anna@example.net\r\nBcc: evil@example.org"])
    assert mail_send(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.delivery_error == "An address must be one line (no line breaks)."
    assert smtp_settings.attempts == 0
