"""A reply sent from the conversation page reaches a real SMTP server through a real Celery
worker (tests/worker.py), with the threading headers a mail client needs; a transient
failure is retried, a permanent one is shown on the page with "Send again"."""

import pytest
from django.test import Client

from crm.celery import app
from mail.models import Message
from mail.tokens import thread_token

from ..worker import celery_worker, wait_for, worker_database_url
from .helpers import inbound_mail, mailbox_default

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(smtp_server):
    app.control.purge()
    env = {
        "DATABASE_URL": worker_database_url(),
        **smtp_server.env,
        # Two retries, quickly: the policy's backoff starts at a second.
        "MAIL_SEND_RETRIES": "2",
        "MAIL_SEND_BACKOFF_MAX": "2",
    }
    with celery_worker(env=env) as node:
        yield node


@pytest.fixture
def thread(alices_customer):
    return inbound_mail(alices_customer, mailbox=mailbox_default(), references="root@example.net")


def reply_from_the_page(charlie, thread, body="A new grinder is on its way."):
    client = Client()
    client.force_login(charlie)
    response = client.post(
        f"/conversations/{thread.pk}/reply/", {"reply_to": thread.pk, "body": body}
    )
    assert response.status_code == 302
    return client, Message.objects.get(direction="outbound")


def delivery(message):
    return Message.objects.values_list("delivery", "attempts", "delivery_error").get(pk=message.pk)


def test_a_reply_from_the_page_reaches_the_customers_mail_server(
    worker, smtp_server, charlie, thread
):
    client, message = reply_from_the_page(charlie, thread)

    (received,) = smtp_server.wait_for(1)
    mail = received.message
    assert received.rcpt_tos == ["anna@example.net"]
    assert mail["Message-ID"] == f"<{message.message_id}>"
    assert mail["In-Reply-To"] == "<abc@example.net>"
    assert mail["References"] == "<root@example.net> <abc@example.net>"
    assert mail["Reply-To"] == f"support+{thread_token(thread.pk)}@firm.example"
    assert mail["Subject"] == f"Re: Grinder broken [#{thread.pk}]"
    assert mail.get_body(("plain",)).get_content().strip() == "A new grinder is on its way."
    wait_for(lambda: delivery(message)[0] == "sent")
    page = client.get(f"/conversations/{thread.pk}/").content.decode()
    assert 'data-delivery="sent"' in page


def test_a_transient_failure_is_retried_by_the_worker_then_sent(
    worker, smtp_server, charlie, thread
):
    smtp_server.fail_next("451 4.3.0 Greylisted, try again later")
    _, message = reply_from_the_page(charlie, thread)
    smtp_server.wait_for(1)
    wait_for(lambda: delivery(message) == ("sent", 2, ""))
    assert smtp_server.attempts == 2


def test_a_permanent_failure_shows_on_the_page_and_can_be_sent_again(
    worker, smtp_server, charlie, thread
):
    smtp_server.fail_next("550 5.1.1 Mailbox unavailable")
    client, message = reply_from_the_page(charlie, thread)
    wait_for(lambda: delivery(message)[0] == "failed")
    assert delivery(message) == ("failed", 1, "550 5.1.1 Mailbox unavailable")
    page = client.get(f"/conversations/{thread.pk}/").content.decode()
    assert "550 5.1.1 Mailbox unavailable" in page and "Send again" in page
    assert "reply not delivered" in client.get("/interactions/queue/").content.decode()

    assert client.post(f"/conversations/messages/{message.pk}/send-again/").status_code == 302
    smtp_server.wait_for(1)
    wait_for(lambda: delivery(message)[0] == "sent")


def test_the_last_retry_marks_the_message_failed(worker, smtp_server, charlie, thread):
    smtp_server.fail_always("421 4.7.0 Too busy")
    _, message = reply_from_the_page(charlie, thread)
    wait_for(lambda: delivery(message)[0] == "failed", timeout=30)
    assert delivery(message) == ("failed", 3, "421 4.7.0 Too busy")
    assert smtp_server.attempts == 3
