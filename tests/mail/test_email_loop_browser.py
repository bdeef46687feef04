"""Issue 16, done when: a customer's email reaches the mailbox (a real Dovecot), appears in the
queue with its service level, support opens the conversation and replies (a real worker, a
real SMTP server), the reply carries the threading headers, the customer answers from another
address of theirs through a client that keeps only the subject, the answer lands in the same
thread, and the figures are recomputed."""

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.celery import app
from customers.models import CustomerEmail
from customers.services import customer_create
from interactions.models import Interaction, ServiceLevelTarget
from mail.models import Mailbox, Message, Security
from mail.secrets import secret_encrypt
from mail.tasks import mailboxes_poll
from valuation.models import CustomerFigures

from ..browser import shot, sign_in
from ..mailservers import DOVECOT_CA_FILE, IMAP_PORT
from ..worker import celery_worker, wait_for, worker_database_url

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def customer_mail(*, sender, to, subject, body, **headers) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(timezone.now())
    mail["Message-ID"] = make_msgid(domain="anna-client.example")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return bytes(mail)


def test_an_email_goes_round_the_whole_loop(page, charlie, alice, imap_account, smtp_server):
    ServiceLevelTarget.objects.get_or_create(
        type="inquiry", channel="", defaults={"first_response_hours": 24}
    )
    anna = customer_create(name="Anna Keller", owner=alice, email="anna@example.net")
    CustomerEmail.objects.create(customer=anna, address="anna.keller@work.example")
    support = Mailbox.objects.create(
        name="Support",
        address=f"{imap_account.user}@firm.example",
        is_default=True,
        imap_host=imap_account.host,
        imap_port=IMAP_PORT,
        imap_security=Security.STARTTLS,
        imap_user=imap_account.user,
        imap_password_encrypted=secret_encrypt(imap_account.password),
    )
    first = customer_mail(
        sender="Anna Keller <anna@example.net>",
        to=support.address,
        subject="My grinder makes a noise",
        body="Hello, since yesterday my grinder makes a loud noise. What can I do?\n\nAnna",
    )
    imap_account.append(first)
    app.control.purge()
    env = {
        "DATABASE_URL": worker_database_url(),
        "MAIL_IMAP_CA_FILE": str(DOVECOT_CA_FILE),
        **smtp_server.env,
    }
    with celery_worker(env=env):
        # The beat task, run by the worker: the mailbox is polled, the message stored.
        mailboxes_poll.delay()
        item = wait_for(
            lambda: Interaction.objects.filter(customer=anna, channel="email").first(), timeout=60
        )
        assert item.requires_response and item.direction == "inbound"
        assert imap_account.messages() == []  # moved to the Processed folder
        wait_for(
            lambda: CustomerFigures.objects.get(customer=anna).interaction_count == 1, timeout=60
        )

        sign_in(page, "charlie")
        page.goto("/interactions/queue/")
        queued = page.locator(".queue-item", has_text="My grinder makes a noise")
        expect(queued).to_contain_text("left")  # its service level: time left to answer
        expect(queued).to_contain_text("via Email")
        shot(page, "email-loop-queue")
        queued.get_by_role("link", name="Answer").click()
        expect(page.get_by_role("heading", name="My grinder makes a noise")).to_be_visible()
        page.get_by_label("Reply", exact=True).fill(
            "Dear Anna, please clean the burrs; if the noise stays we send a new one."
        )
        page.get_by_role("button", name="Send reply").click()
        expect(page.get_by_text("Reply queued")).to_be_visible()

        (received,) = smtp_server.wait_for(1, timeout=60)
        reply = received.message
        first_id = Message.objects.get(interaction=item).message_id
        assert reply["To"] == "anna@example.net"
        assert reply["In-Reply-To"] == f"<{first_id}>"
        assert f"<{first_id}>" in reply["References"]
        assert reply["Subject"] == f"Re: My grinder makes a noise [#{item.pk}]"
        assert reply["Reply-To"].startswith(f"{imap_account.user}+t{item.pk}-")
        item.refresh_from_db()
        assert item.first_response_at is not None

        # Anna answers from her work address, in a client that keeps only the subject and
        # writes to the plain support address (no In-Reply-To, no References, no token).
        answer = customer_mail(
            sender="Anna Keller <anna.keller@work.example>",
            to=support.address,
            subject=f"AW: {reply['Subject']}",
            body="Cleaning did not help, it still rattles.\n\nAnna",
        )
        imap_account.append(answer)
        mailboxes_poll.delay()
        follow_up = wait_for(
            lambda: (
                Interaction.objects.filter(customer=anna, thread=item, direction="inbound")
                .exclude(pk=item.pk)
                .first()
            ),
            timeout=60,
        )
        assert follow_up.requires_response
        # The learning loop ran for it: the figures count every interaction of the loop.
        wait_for(
            lambda: CustomerFigures.objects.get(customer=anna).interaction_count == 3, timeout=60
        )

        page.goto(f"/conversations/{item.pk}/")
        expect(page.locator(".conv-item")).to_have_count(3)
        expect(page.locator(".conv-item.inbound").last).to_contain_text("it still rattles")
        expect(page.locator(".conv-item.outbound .delivery")).to_have_text("sent")
        shot(page, "email-loop-conversation")
