"""Support answers a customer's mail in a real Chromium: from the queue to the conversation,
a canned reply, the send through a real worker to a real SMTP server."""

import re

import pytest
from playwright.sync_api import expect

from crm.celery import app
from customers.models import FactKey
from customers.services import customer_create
from interactions.models import ServiceLevelTarget
from mail.models import CannedReply

from ..browser import SCREENSHOTS, shot, sign_in
from ..worker import celery_worker, worker_database_url
from .helpers import inbound_mail, mailbox_default

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(smtp_server):
    app.control.purge()
    with celery_worker(env={"DATABASE_URL": worker_database_url(), **smtp_server.env}) as node:
        yield node


@pytest.fixture
def conversation(alice, roles):
    ServiceLevelTarget.objects.get_or_create(
        type="inquiry", channel="", defaults={"first_response_hours": 24}
    )
    FactKey.objects.get_or_create(
        key="brewing_method", defaults={"label": "Brewing method", "value_type": "text"}
    )
    anna = customer_create(
        name="Anna Keller", owner=alice, email="anna@example.net", preferred_channel="email"
    )
    mailbox = mailbox_default()
    first = inbound_mail(
        anna,
        mailbox=mailbox,
        subject="My grinder makes a noise",
        text="Hello, since yesterday my grinder makes a loud noise. What can I do?\n\nAnna",
        text_full=(
            "Hello, since yesterday my grinder makes a loud noise. What can I do?\n\nAnna\n\n"
            "> On 1 Dec, Support wrote:\n> Your order has shipped."
        ),
        minutes_ago=90,
    )
    CannedReply.objects.create(
        title="Grinder noise",
        body=(
            "Dear {{ customer.first_name }},\n\nthank you for telling us. Please clean the burrs"
            " with the brush that came with it; if the noise stays, we send you a new grinder."
            "\n\nKind regards,\n{{ me }}"
        ),
    )
    return first


def test_support_answers_from_the_conversation_with_a_canned_reply(
    page, charlie, conversation, worker, smtp_server
):
    sign_in(page, "charlie")
    page.goto("/interactions/queue/")
    page.get_by_role("link", name="My grinder makes a noise").click()
    expect(page.get_by_role("heading", name="My grinder makes a noise")).to_be_visible()
    expect(page.locator(".conv-item.inbound")).to_contain_text("since yesterday my grinder")
    expect(page.get_by_text("Quoted history")).to_be_visible()
    expect(page.get_by_text("Your order has shipped.")).to_be_hidden()  # folded

    page.get_by_label("Canned reply", exact=True).select_option(label="Grinder noise")
    page.get_by_role("button", name="Use this canned reply").click()
    expect(page.get_by_label("Reply", exact=True)).to_have_value(
        "Dear Anna,\n\nthank you for telling us. Please clean the burrs with the brush that came"
        " with it; if the noise stays, we send you a new grinder.\n\nKind regards,\nCharlie"
    )
    shot(page, "conversation-canned-reply")
    page.get_by_role("button", name="Send reply").click()

    expect(page.get_by_text("Reply queued")).to_be_visible()
    outbound = page.locator(".conv-item.outbound")
    expect(outbound).to_have_count(1)
    # The worker may already have sent it by the time the page is back.
    expect(outbound.locator(".delivery")).to_have_text(re.compile("^(queued|sent)$"))
    (received,) = smtp_server.wait_for(1)
    assert received.message["Subject"] == f"Re: My grinder makes a noise [#{conversation.pk}]"
    page.reload()
    expect(outbound.locator(".delivery")).to_have_text("sent")
    expect(page.locator(".conv-item.inbound")).to_contain_text("answered")
    shot(page, "conversation-sent")
    assert (SCREENSHOTS / "conversation-sent.png").exists()


def test_support_sees_a_refused_reply_and_sends_it_again(
    page, charlie, conversation, worker, smtp_server
):
    smtp_server.fail_next("550 5.1.1 Mailbox unavailable")
    sign_in(page, "charlie")
    page.goto(f"/conversations/{conversation.pk}/")
    page.get_by_label("Reply", exact=True).fill("Could you send us a photo of the grinder?")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Reply queued")).to_be_visible()
    delivery = page.locator(".conv-item.outbound .delivery")
    for _ in range(50):  # the worker answers within a second or two
        if delivery.inner_text() == "failed":
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(delivery).to_have_text("failed")
    expect(page.get_by_role("alert")).to_contain_text("550 5.1.1 Mailbox unavailable")
    shot(page, "conversation-failed")

    page.goto("/interactions/queue/")
    expect(page.locator(".queue-item").first).to_contain_text("reply not delivered")

    page.goto(f"/conversations/{conversation.pk}/")
    page.get_by_role("button", name="Send again").click()
    expect(page.get_by_text("Queued again")).to_be_visible()
    smtp_server.wait_for(1)
    page.reload()
    expect(delivery).to_have_text("sent")
