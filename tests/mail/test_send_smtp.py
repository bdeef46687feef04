"""The send against a real SMTP server (aiosmtpd, tests/mailservers.py), in this process:
what the customer's mail server receives, failures, retries and header injection."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.services import customer_email_add
from interactions.services import interaction_log
from mail.inbound import mail_receive
from mail.models import Message
from mail.services import MailTransientError, mail_reply_send, mail_send
from mail.tokens import thread_token

from ..mailservers import free_port
from .helpers import inbound_mail, mailbox_default
from .messages import raw

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


def test_the_customers_answers_to_a_sent_reply_land_in_the_same_thread(
    smtp_settings, alices_customer, charlie
):
    mailbox_default()
    first = mail_receive(
        raw(subject="Grinder broken", message_id="<q1@client.example>"), via="pipe"
    )
    root = first.message.interaction
    reply = mail_reply_send(interaction=root, body="Which model is it?", sent_by=charlie)
    mail_send(message_id=reply.message.pk)
    (sent,) = smtp_settings.wait_for(1)

    # A client that keeps the headers answers the reply.
    kept = mail_receive(
        raw(
            subject=f"Re: {sent.message['Subject']}",
            in_reply_to=sent.message["Message-ID"],
            references=sent.message["References"] + " " + sent.message["Message-ID"],
        ),
        via="pipe",
    )
    assert kept.message.interaction.thread_id == root.pk

    # From another address of hers, through a client that keeps only the subject.
    customer_email_add(customer=alices_customer, address="anna@work.example")
    subject_only = mail_receive(
        raw(sender="Anna <anna@work.example>", subject=f"Re: {sent.message['Subject']}"),
        via="pipe",
    )
    assert subject_only.message.interaction.thread_id == root.pk
    assert subject_only.message.match == "known"

    # To the Reply-To (the thread token), from an address not on file, subject rewritten.
    colleague = mail_receive(
        raw(sender="Ben <ben@work.example>", to=sent.message["Reply-To"], subject="Model X200"),
        via="pipe",
    )
    assert colleague.message.interaction.thread_id == root.pk
    assert colleague.message.match == "thread"
    # The next reply goes to whoever wrote last in the thread, answering that message.
    again = mail_reply_send(interaction=root, body="Thanks, Ben.", sent_by=charlie).message
    assert again.to == ["ben@work.example"]
    assert again.in_reply_to == colleague.message.message_id
