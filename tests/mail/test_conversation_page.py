"""The conversation page, its actions and the reply API: what each role sees and may do."""

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from customers.models import Customer, CustomerEmail
from interactions.models import Interaction
from interactions.services import OrderLineInput, interaction_log
from mail.models import Attachment, BouncingAddress, CannedReply, Message
from mail.services import mail_reply_send

from ..factories import OfferingFactory
from .helpers import inbound_mail, mailbox_default

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """The messages the views ask to send after the commit (mail.tasks.mail_send_request)."""
    asked: list[int] = []
    monkeypatch.setattr("mail.tasks.mail_send_request", asked.append)
    return asked


def page_of(client, root):
    response = client.get(f"/conversations/{root.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def thread(alices_customer, alice):
    mailbox_default()
    first = inbound_mail(
        alices_customer,
        text="My grinder stopped working.",
        text_full="My grinder stopped working.\n\n> On Monday you wrote:\n> Your order shipped",
        html="<p>My <b>grinder</b> stopped working.</p>",
    )
    offering = OfferingFactory(name="House blend")
    interaction_log(
        customer=alices_customer,
        logged_by=alice,
        channel="phone",
        direction="inbound",
        type="order",
        subject="Ordered beans on the phone",
        thread=first,
        lines=[
            OrderLineInput(
                offering_id=offering.pk,
                quantity=Decimal("2"),
                unit_price=Decimal("987.65"),
                unit_cost=Decimal("400"),
            )
        ],
    )
    message = first.message
    Attachment.objects.create(
        message=message,
        filename="photo.html",
        content_type="text/html",
        size=24,
        file=ContentFile(b"<script>alert(1)</script>", name="photo.html"),
    )
    return first


def test_support_sees_the_whole_dialogue_without_money(client, charlie, thread):
    client.force_login(charlie)
    page = page_of(client, thread)
    assert "My grinder stopped working." in page
    assert "Quoted history" in page and "On Monday you wrote" in page
    assert "<b>grinder</b>" not in page  # the HTML only on request
    assert "Ordered beans on the phone" in page and "House blend" in page
    # The amounts in any format (not "987" alone: a timestamp or an id may hold it).
    assert not any(amount in page for amount in ("987.65", "987,65", "1,975", "1975"))
    assert "Matched: Sender&#x27;s address is the customer&#x27;s" in page
    assert "prefers" in page and "Reply by email" in page
    assert "photo.html" in page


def test_a_manager_sees_the_amounts_and_the_html_on_request(client, alice, thread):
    client.force_login(alice)
    page = page_of(client, thread)
    assert "987.65" in page and "1,975.30" in page
    html = client.get(f"/conversations/{thread.pk}/", {"html": thread.message.pk}).content.decode()
    assert "<p>My <b>grinder</b> stopped working.</p>" in html


def test_another_portfolio_reads_exactly_like_nothing(client, bob, thread):
    client.force_login(bob)
    attachment = Attachment.objects.get()
    for path in (
        f"/conversations/{thread.pk}/",
        f"/conversations/attachments/{attachment.pk}/",
    ):
        assert client.get(path).status_code == 404
    assert client.post(f"/conversations/{thread.pk}/reply/", {"body": "x"}).status_code == 404
    api = APIClient()
    api.force_authenticate(bob)
    theirs = api.post(f"/api/interactions/{thread.pk}/reply/", {"body": "x"}, format="json")
    missing = api.post(
        f"/api/interactions/{thread.pk + 10**6}/reply/", {"body": "x"}, format="json"
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert not Interaction.objects.filter(direction="outbound").exists()


def test_an_attachment_downloads_and_is_never_rendered(client, charlie, thread):
    client.force_login(charlie)
    attachment = Attachment.objects.get()
    response = client.get(f"/conversations/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="photo.html"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"


def test_an_item_in_the_middle_opens_its_conversation(client, charlie, thread):
    client.force_login(charlie)
    middle = Interaction.objects.get(thread=thread)
    response = client.get(f"/conversations/{middle.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/conversations/{thread.pk}/"


def test_support_replies_from_the_page(client, charlie, thread, sent):
    client.force_login(charlie)
    response = client.post(
        f"/conversations/{thread.pk}/reply/",
        {
            "reply_to": thread.pk,
            "body": "A new grinder is on its way.",
            "cc": "partner@example.net, other@example.net",
            "attachments": [SimpleUploadedFile("label.pdf", b"%PDF", "application/pdf")],
        },
    )
    assert response.status_code == 302
    reply = Interaction.objects.get(direction="outbound")
    assert sent == [reply.message.pk]
    assert (reply.thread_id, reply.notes) == (thread.pk, "A new grinder is on its way.")
    assert reply.message.cc == ["partner@example.net", "other@example.net"]
    assert reply.message.attachments.get().filename == "label.pdf"
    page = page_of(client, thread)
    assert "A new grinder is on its way." in page
    assert 'data-delivery="queued"' in page


def test_a_refused_reply_names_the_field(client, charlie, thread):
    client.force_login(charlie)
    response = client.post(
        f"/conversations/{thread.pk}/reply/",
        {"reply_to": thread.pk, "body": "Hi", "cc": "evil@example.org\r\nBcc:x@example.org"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "cc": ["“bcc:x@example.org” is not an email address."]
    }
    response = client.post(f"/conversations/{thread.pk}/reply/", {"reply_to": 1, "body": "Hi"})
    assert response.status_code == 400
    assert "reply_to" in response.context["form"].errors
    assert not Interaction.objects.filter(direction="outbound").exists()


def test_a_failed_send_shows_its_error_and_sends_again(client, charlie, thread, sent):
    message = mail_reply_send(interaction=thread, body="Hi", sent_by=charlie).message
    Message.objects.filter(pk=message.pk).update(
        delivery="failed", delivery_error="550 5.1.1 No such user"
    )
    client.force_login(charlie)
    page = page_of(client, thread)
    assert "Not delivered." in page and "550 5.1.1 No such user" in page and "Send again" in page
    response = client.post(f"/conversations/messages/{message.pk}/send-again/")
    assert response.status_code == 302
    assert sent == [message.pk]
    message.refresh_from_db()
    assert (message.delivery, message.delivery_error) == ("queued", "")


def test_the_bouncing_address_is_warned_about(client, charlie, thread):
    BouncingAddress.objects.create(address="anna@example.net")
    client.force_login(charlie)
    assert "Mail to anna@example.net has bounced before." in page_of(client, thread)


def test_a_reply_from_an_address_not_on_file_can_be_added(client, charlie, thread, alices_customer):
    later = inbound_mail(
        alices_customer,
        thread=thread,
        message_id="later@example.net",
        from_address="anna.k@work.example",
        match="thread",
        minutes_ago=5,
    )
    client.force_login(charlie)
    page = page_of(client, thread)
    assert "Add anna.k@work.example to Anna Keller" in page
    response = client.post(f"/conversations/messages/{later.message.pk}/add-address/")
    assert response.status_code == 302
    assert CustomerEmail.objects.filter(customer=alices_customer, address="anna.k@work.example")
    assert "Add anna.k@work.example" not in page_of(client, thread)


def test_a_new_prospect_is_kept_after_triage(client, charlie, thread, alices_customer):
    Customer.objects.filter(pk=alices_customer.pk).update(needs_triage=True)
    client.force_login(charlie)
    assert "Checked, keep as new prospect" in page_of(client, thread)
    assert client.post(f"/conversations/{thread.pk}/triage-clear/").status_code == 302
    assert not Customer.objects.get(pk=alices_customer.pk).needs_triage
    assert "Checked, keep as new prospect" not in page_of(client, thread)


def test_a_canned_reply_fills_the_box_without_javascript(client, alice, thread):
    canned = CannedReply.objects.create(
        title="Sorry", body="Dear {{ customer.first_name }}, sorry. {{ me }}"
    )
    client.force_login(alice)
    response = client.get(f"/conversations/{thread.pk}/", {"canned": canned.pk})
    assert response.context["form"]["body"].value() == "Dear Anna, sorry. Alice"
    broken = CannedReply.objects.create(title="Broken", body="{% if %}")
    response = client.get(f"/conversations/{thread.pk}/", {"canned": broken.pk})
    assert response.status_code == 200
    assert "The canned reply&#x27;s template does not work" in response.content.decode()


def thread_of(customer, length: int):
    root = inbound_mail(customer, message_id=f"root-{length}@example.net")
    for index in range(length - 1):
        item = inbound_mail(
            customer,
            thread=root,
            message_id=f"m{length}-{index}@example.net",
            minutes_ago=50 - index,
        )
        Attachment.objects.create(
            message=item.message, filename="a.txt", content_type="text/plain", size=1,
            file=ContentFile(b"a", name="a.txt"),
        )  # fmt: skip
    return root


def test_the_page_costs_the_same_queries_for_3_or_30_items(
    client, alice, alices_customer, django_assert_max_num_queries, django_assert_num_queries
):
    client.force_login(alice)
    short, long = thread_of(alices_customer, 3), thread_of(alices_customer, 30)
    page_of(client, short)  # warm the session and permission caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as counted:
        page_of(client, short)
    with django_assert_num_queries(len(counted)):
        page = page_of(client, long)
    assert page.count('class="conv-item') == 30
    with django_assert_max_num_queries(20):
        page_of(client, long)


def test_the_api_answers_201_with_the_delivery(alice, thread, sent):
    api = APIClient()
    api.force_authenticate(alice)
    response = api.post(
        f"/api/interactions/{thread.pk}/reply/",
        {"body": "On its way", "cc": ["partner@example.net"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    reply = Interaction.objects.get(pk=body["interaction"])
    assert body == {
        "interaction": reply.pk,
        "thread": thread.pk,
        "message": reply.message.pk,
        "message_id": reply.message.message_id,
        "to": ["anna@example.net"],
        "delivery": "queued",
    }
    assert sent == [reply.message.pk]


def test_the_api_takes_attachments_as_multipart(charlie, thread):
    api = APIClient()
    api.force_authenticate(charlie)
    response = api.post(
        f"/api/interactions/{thread.pk}/reply/",
        {
            "body": "See attached",
            "cc": ["a@example.net", "b@example.net"],
            "attachments": [SimpleUploadedFile("a.pdf", b"%PDF", "application/pdf")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    message = Message.objects.get(pk=response.json()["message"])
    assert message.cc == ["a@example.net", "b@example.net"]
    assert message.attachments.get().filename == "a.pdf"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "x", "cc": ["x@example.net\r\nBcc: evil@example.org"]}, "cc"),
        ({"body": "x", "cc": "not-a-list"}, "cc"),
    ],
)
def test_the_api_names_the_field_of_bad_input(alice, thread, payload, field):
    api = APIClient()
    api.force_authenticate(alice)
    response = api.post(f"/api/interactions/{thread.pk}/reply/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Interaction.objects.filter(direction="outbound").exists()


def test_the_queue_and_the_customer_page_open_the_conversation(client, charlie, thread):
    reply = mail_reply_send(interaction=thread, body="Hi", sent_by=charlie)
    inbound_mail(thread.customer, thread=thread, message_id="later@example.net", minutes_ago=1)
    client.force_login(charlie)
    queue = client.get("/interactions/queue/").content.decode()
    assert f'href="/conversations/{thread.pk}/"' in queue
    # The answered first message and the later one: both open the same conversation.
    assert queue.count(f'href="/conversations/{thread.pk}/"') == 2
    assert "reply not delivered" not in queue
    Message.objects.filter(interaction=reply).update(delivery="failed", delivery_error="550 no")
    assert "reply not delivered" in client.get("/interactions/queue/").content.decode()
    customer_page = client.get(f"/customers/{thread.customer_id}/").content.decode()
    # Four items on the timeline, two open items.
    assert customer_page.count(f'href="/conversations/{thread.pk}/"') == 6
