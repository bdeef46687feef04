"""The customer's requests in the portal (issue 22): the list, the whole conversation, and a
reply that goes the way an e-mailed reply goes (mail_receive, Via.PORTAL) so it joins the
thread, resumes a clock waiting on the customer and shows to staff."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from interactions.models import Interaction
from interactions.services import interaction_log, interaction_wait_on_customer
from mail.inbound import mail_receive
from mail.models import Match, Message, Via
from mail.services import mail_reply_send
from mail.tokens import thread_token
from portal.requests import RequestStatus, reply_nonce, request_conversation

from .factories import CustomerFactory
from .mail.helpers import inbound_mail, mailbox_default
from .mail.messages import raw
from .test_portal import signed_in_client, unique_address

pytestmark = pytest.mark.django_db


def conversation(customer, staff, *, subject="Grinder broken", asked="It stopped working."):
    """The customer wrote by mail, staff answered by mail: the thread's root."""
    mailbox_default()
    received = mail_receive(
        raw(
            sender=f"{customer.name} <{customer.email}>",
            subject=subject,
            body=asked,
        ),
        via=Via.IMAP,
    )
    root = received.interaction
    assert root is not None and root.customer_id == customer.pk
    mail_reply_send(interaction=root, body="Please send us a photo of it.", sent_by=staff)
    return root


def reply(client, root, text, nonce=None):
    return client.post(
        f"/portal/requests/{root.pk}/reply/", {"text": text, "nonce": nonce or reply_nonce()}
    )


def test_the_customer_lists_their_requests_and_reads_the_whole_conversation(alice):
    customer = CustomerFactory(owner=alice, email=unique_address())
    root = conversation(customer, alice)
    # a call staff logged in the thread: their own notes, never the customer's to read
    interaction_log(
        customer=customer,
        logged_by=alice,
        channel="phone",
        direction="outbound",
        type="inquiry",
        subject="Called back",
        notes="INTERNAL: customer sounded upset",
        thread=root,
        requires_response=False,
    )
    client = signed_in_client(customer)

    assert 'href="/portal/requests/"' in client.get("/portal/").content.decode()
    listing = client.get("/portal/requests/")
    assert listing.status_code == 200
    [request] = listing.context["requests"]
    assert request.root == root and request.status == RequestStatus.ANSWERED
    assert f'href="/portal/requests/{root.pk}/"' in listing.content.decode()

    page = client.get(f"/portal/requests/{root.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "It stopped working." in body and "Please send us a photo of it." in body
    assert "INTERNAL" not in body and "Called back" not in body
    entries = page.context["conversation"].entries
    assert [e.mine for e in entries] == [True, False]
    assert entries[1].author.endswith("(our team)")


def test_another_customers_request_and_a_mere_reply_are_missing(alice):
    mine = CustomerFactory(owner=alice, email=unique_address())
    theirs = CustomerFactory(owner=alice, email=unique_address())
    their_root = conversation(theirs, alice, subject="Their secret")
    my_root = conversation(mine, alice)
    staff_reply = Interaction.objects.get(thread=my_root, direction="outbound")
    client = signed_in_client(mine)

    assert client.get(f"/portal/requests/{their_root.pk}/").status_code == 404
    assert reply(client, their_root, "Me too").status_code == 404
    assert client.get(f"/portal/requests/{staff_reply.pk}/").status_code == 404  # not a root
    assert client.get("/portal/requests/999999999/").status_code == 404
    assert "Their secret" not in client.get("/portal/requests/").content.decode()
    assert not Interaction.objects.filter(thread=their_root, customer=mine).exists()


def test_a_reply_joins_the_thread_as_an_emailed_reply_would(alice, settings):
    customer = CustomerFactory(owner=alice, email=unique_address())
    root = conversation(customer, alice)
    sent = Message.objects.get(interaction__thread=root, direction="outbound")
    client = signed_in_client(customer)

    response = reply(client, root, "Here is the photo <script>alert(1)</script><b>you</b> asked.")

    assert response.status_code == 302
    assert response.url == f"/portal/requests/{root.pk}/?sent=1#latest"
    item = Interaction.objects.get(thread=root, direction="inbound")
    message = item.message
    assert message.via == Via.PORTAL and message.match == Match.KNOWN
    assert message.from_address == customer.email
    assert message.in_reply_to == sent.message_id  # answers our latest message
    assert item.channel == "email" and item.requires_response
    assert item.first_response_at is None and item.response_due_at is not None
    assert item.notes == "Here is the photo you asked."  # tags and the script gone
    # staff see it in the conversation page and the queue
    staff = Client()
    staff.force_login(alice)
    page = staff.get(f"/conversations/{root.pk}/")
    assert page.status_code == 200 and "Here is the photo you asked." in page.content.decode()
    queue = staff.get("/interactions/queue/")
    assert item in list(queue.context["page"].object_list)
    # and the customer sees it, their request waiting for an answer again
    conversation_now = request_conversation(customer=customer, root_id=root.pk)
    assert conversation_now.entries[-1].text == "Here is the photo you asked."
    assert conversation_now.status == RequestStatus.WAITING
    assert "Your reply was sent" in client.get(response.url).content.decode()


def test_a_reply_resumes_a_clock_waiting_on_the_customer(alice):
    customer = CustomerFactory(owner=alice, email=unique_address())
    root = inbound_mail(
        customer, subject="Refund?", mailbox=mailbox_default(), minutes_ago=180
    )  # three hours ago, as mail_receive leaves it
    due_before = root.response_due_at
    assert due_before is not None
    assert interaction_wait_on_customer(interaction=root, at=timezone.now() - timedelta(hours=2))
    client = signed_in_client(customer)

    assert reply(client, root, "My order number is 1234.").status_code == 302

    root.refresh_from_db()
    assert root.waiting_since is None
    assert root.paused_seconds > 0
    assert root.response_due_at > due_before  # moved by the time it waited


def test_the_same_form_sent_twice_is_one_reply(alice):
    customer = CustomerFactory(owner=alice, email=unique_address())
    root = conversation(customer, alice)
    client = signed_in_client(customer)
    nonce = reply_nonce()

    assert reply(client, root, "Once", nonce).status_code == 302
    assert reply(client, root, "Once", nonce).status_code == 302

    assert Message.objects.filter(via=Via.PORTAL, interaction__thread=root).count() == 1


@pytest.mark.parametrize(
    ("text", "nonce", "said"),
    [
        ("", None, "Your reply: This field is required."),
        ("<script>only()</script>", None, "Your reply: Write your message."),
        ("x" * 10_001, None, "Your reply: Ensure this value has at most 10000 characters"),
        ("Hello", "not-a-nonce", "This form is out of date: reload the page."),
    ],
)
def test_bad_input_is_a_clear_error_and_stores_nothing(alice, text, nonce, said):
    customer = CustomerFactory(owner=alice, email=unique_address())
    root = conversation(customer, alice)
    client = signed_in_client(customer)

    response = reply(client, root, text, nonce)

    assert response.status_code == 400
    assert said in response.content.decode()
    assert not Message.objects.filter(via=Via.PORTAL).exists()


def test_posting_replies_is_rate_limited(alice, settings):
    settings.PORTAL_REPLY_RATE = "2/hour"
    customer = CustomerFactory(owner=alice, email=unique_address())
    root = conversation(customer, alice)
    client = signed_in_client(customer)

    assert [reply(client, root, f"Try {n}").status_code for n in range(3)] == [302, 302, 429]
    assert Message.objects.filter(via=Via.PORTAL).count() == 2


def test_staff_and_nobody_reach_no_request(alice):
    customer = CustomerFactory(owner=alice, email=unique_address())
    root = conversation(customer, alice)
    staff = Client()
    staff.force_login(alice)
    for client in (Client(), staff):
        assert client.get(f"/portal/requests/{root.pk}/").url == "/portal/sign-in/"
        assert reply(client, root, "Hi").url == "/portal/sign-in/"
    assert not Message.objects.filter(via=Via.PORTAL).exists()


def test_the_list_reads_a_fixed_number_of_queries(alice, django_assert_max_num_queries):
    customer = CustomerFactory(owner=alice, email=unique_address())
    for n in range(6):
        conversation(customer, alice, subject=f"Question {n}")
    client = signed_in_client(customer)
    with django_assert_max_num_queries(8):
        response = client.get("/portal/requests/")
    assert len(response.context["requests"]) == 6


def test_a_request_that_came_by_phone_is_replied_to_by_its_thread_address(alice):
    customer = CustomerFactory(owner=alice, email=unique_address())
    mailbox_default()
    root = interaction_log(
        customer=customer,
        logged_by=None,
        channel="phone",
        direction="inbound",
        type="inquiry",
        subject="Delivery on Saturday?",
        notes="Asked whether we deliver on Saturdays.",
        occurred_at=timezone.now() - timedelta(hours=1),
    )
    client = signed_in_client(customer)
    page = client.get(f"/portal/requests/{root.pk}/").content.decode()
    assert "Delivery on Saturday?" in page  # its subject, not the call's notes
    assert "Asked whether we deliver on Saturdays." not in page

    assert reply(client, root, "Or on Sunday?").status_code == 302

    item = Interaction.objects.get(thread=root)
    assert item.message.via == Via.PORTAL and item.message.in_reply_to == ""
    assert item.message.to == [f"support+{thread_token(root.pk)}@firm.example"]
