"""The one service behind every way mail comes in (mail.inbound.mail_receive): stored once,
threaded, matched to its customer, logged as an interaction, never answered when automatic."""

import pytest
from django.core.files.storage import default_storage

from customers.models import Customer, CustomerEmail
from interactions.models import Interaction
from interactions.selectors import support_queue
from interactions.services import interaction_log
from mail import tokens
from mail.inbound import MessageTooLarge, mail_receive
from mail.models import BouncingAddress, Mailbox, Match, Message, Rule
from tests.factories import CustomerFactory

from .messages import dsn, message, raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(db):
    return Mailbox.objects.create(name="Support", address="support@firm.example", is_default=True)


@pytest.fixture
def anna(alice):
    customer = CustomerFactory(name="Anna Keller", owner=alice, email="Anna@Example.net")
    CustomerEmail.objects.create(customer=customer, address="anna.keller@work.example")
    return customer


def receive(**kwargs):
    return mail_receive(raw(**kwargs), via="pipe")


def test_a_message_from_a_known_customer_is_an_inquiry_in_the_queue(mailbox, anna, charlie):
    received = receive(subject="Where is my order?", body="It has not arrived.")

    assert received.created
    item = received.interaction
    assert item.customer == anna  # the address matched case-blind
    assert (item.channel, item.direction, item.type) == ("email", "inbound", "inquiry")
    assert item.requires_response and item.first_response_at is None
    assert item.subject == "Where is my order?"
    assert "It has not arrived." in item.notes
    assert received.message.mailbox == mailbox
    assert received.message.match == Match.KNOWN
    assert item in list(support_queue(user=charlie))


def test_the_same_message_twice_is_stored_once(mailbox, anna):
    mail = raw(message_id="<once@client.example>")

    first = mail_receive(mail, via="imap")
    second = mail_receive(mail, via="pipe")

    assert first.created and not second.created
    assert second.message.pk == first.message.pk
    assert Message.objects.count() == 1
    assert Interaction.objects.filter(customer=anna).count() == 1


def test_a_message_without_message_id_is_known_by_its_bytes(mailbox, anna):
    mail = message()
    del mail["Message-ID"]

    assert mail_receive(bytes(mail), via="pipe").created
    assert not mail_receive(bytes(mail), via="pipe").created


def test_another_address_of_the_customer_reaches_the_same_customer(mailbox, anna):
    received = receive(sender="anna.keller@WORK.example")

    assert received.interaction.customer == anna
    assert received.message.match == Match.KNOWN


def test_an_unknown_sender_is_a_new_prospect_flagged_for_triage_and_cc_are_not(mailbox, anna):
    received = receive(
        sender="Carla Nowak <carla@new.example>",
        cc="Dieter <dieter@other.example>, anna@example.net",
    )

    prospect = received.interaction.customer
    assert prospect.name == "Carla Nowak"
    assert prospect.email == "carla@new.example"
    assert prospect.status == "prospect" and prospect.needs_triage
    assert prospect.owner is None
    assert received.message.match == Match.NEW
    assert not Customer.objects.filter(email__icontains="dieter").exists()
    assert received.message.cc == ["dieter@other.example", "anna@example.net"]
    # A second message from the same stranger joins the same prospect.
    again = receive(sender="carla@new.example", subject="Hello again")
    assert again.interaction.customer == prospect


def _first_message(anna):
    return receive(message_id="<first@client.example>", subject="Grinder broken")


def test_a_reply_threads_by_in_reply_to(mailbox, anna):
    first = _first_message(anna)

    reply = receive(
        subject="Re: Grinder broken", in_reply_to="<first@client.example>", body="Any news?"
    )

    assert reply.interaction.thread == first.interaction
    assert reply.interaction.requires_response


def test_a_reply_threads_by_references_when_in_reply_to_is_gone(mailbox, anna):
    first = _first_message(anna)
    middle = receive(message_id="<middle@client.example>", in_reply_to="<first@client.example>")

    reply = receive(references="<first@client.example> <middle@client.example> <x@y.example>")

    # Every message of a thread points at its first one (the root).
    assert middle.interaction.thread == first.interaction
    assert reply.interaction.thread == first.interaction


def test_a_reply_threads_by_the_token_in_the_reply_address(mailbox, anna):
    first = _first_message(anna)
    to = tokens.thread_address(mailbox.address, first.interaction.pk)

    # A provider rewrote the Message-IDs: only the Reply-To address the reply goes to is left.
    reply = receive(to=to, subject="Re: something else", in_reply_to="<rewritten@ses.example>")

    assert reply.interaction.thread == first.interaction
    assert reply.message.mailbox == mailbox  # the plus-address is the mailbox's


def test_a_forged_token_threads_nothing(mailbox, anna):
    first = _first_message(anna)
    forged = f"support+t{first.interaction.pk}-000000000000@firm.example"

    reply = receive(sender="mallory@evil.example", to=forged, subject="Re: hello")

    assert reply.interaction.thread is None
    assert reply.interaction.customer != anna


def test_the_subject_tag_threads_mail_from_the_customers_own_addresses_only(mailbox, anna):
    first = _first_message(anna)
    tagged = tokens.subject_tagged("Re: Grinder broken", first.interaction.pk)

    from_anna = receive(sender="anna.keller@work.example", subject=tagged)
    from_stranger = receive(sender="mallory@evil.example", subject=tagged)

    assert from_anna.interaction.thread == first.interaction
    assert from_anna.interaction.customer == anna
    assert from_stranger.interaction.thread is None
    assert from_stranger.interaction.customer.needs_triage


def test_a_reply_in_the_thread_from_an_unknown_address_stays_with_the_customer(mailbox, anna):
    """Someone CC'd answers in the thread: the customer's conversation, flagged, no prospect."""
    first = _first_message(anna)

    reply = receive(sender="assistant@anna-office.example", in_reply_to="<first@client.example>")

    assert reply.interaction.customer == anna
    assert reply.interaction.thread == first.interaction
    assert reply.message.match == Match.THREAD
    assert not Customer.objects.filter(email="assistant@anna-office.example").exists()


def test_the_new_text_is_kept_apart_from_the_quoted_history(mailbox, anna):
    body = (
        "Yes, Tuesday works for me.\n\n"
        "On Mon, 30 Nov 2026 at 10:00, Support <support@firm.example> wrote:\n"
        "> Could we come on Tuesday?\n> Best, the team\n"
    )

    received = receive(body=body)

    assert received.message.text == "Yes, Tuesday works for me."
    assert "Could we come on Tuesday?" in received.message.text_full
    assert "Could we come on Tuesday?" not in received.interaction.notes


def test_hostile_html_is_sanitised_and_an_html_only_message_has_text(mailbox, anna):
    mail = message(body="x")
    mail.clear_content()
    mail.set_content(
        "<html><head><style>body{display:none}</style><script>alert(1)</script></head>"
        '<body><p onclick="steal()">Hello <b>team</b></p>'
        '<img src="https://tracker.example/pixel.gif">'
        '<a href="javascript:alert(2)">click</a> <a href="https://ok.example">ok</a>'
        "<p>Second line</p></body></html>",
        subtype="html",
    )

    received = mail_receive(bytes(mail), via="pipe")

    html = received.message.html
    for bad in (
        "<script",
        "alert(1)",
        "onclick",
        "<img",
        "tracker.example",
        "javascript:",
        "<style",
    ):
        assert bad not in html
    assert "<b>team</b>" in html and 'href="https://ok.example"' in html
    assert "Hello team" in received.message.text and "Second line" in received.message.text
    assert "display:none" not in received.message.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"X-Autoreply": "yes"},
        {"Precedence": "auto_reply"},
        {"Return-Path": "<>"},
    ],
)
def test_automatic_replies_are_recorded_and_never_wait_for_an_answer(
    mailbox, anna, headers, charlie
):
    received = receive(subject="Out of office", headers=headers)

    assert received.message.kind == "auto_reply"
    assert received.interaction.customer == anna
    assert not received.interaction.requires_response
    assert received.interaction not in list(support_queue(user=charlie))


def test_list_mail_and_automatic_replies_of_strangers_create_nobody(mailbox):
    news = receive(sender="news@shop.example", headers={"List-Id": "<news.shop.example>"})
    away = receive(sender="away@corp.example", headers={"Auto-Submitted": "auto-replied"})

    assert news.message.kind == "list" and away.message.kind == "auto_reply"
    assert news.interaction is None and away.interaction is None
    assert not Customer.objects.exists()


def test_a_bounce_marks_the_address_and_the_sent_message_failed(mailbox, anna):
    thread = receive(message_id="<q@client.example>").interaction
    sent_item = interaction_log(
        customer=anna,
        logged_by=None,
        channel="email",
        direction="outbound",
        type="inquiry",
        subject="Re: Where is my order?",
        thread=thread,
    )
    Message.objects.create(
        direction="outbound",
        via="app",
        message_id="reply.1@firm.example",
        interaction=sent_item,
        delivery="sent",
        from_address="support@firm.example",
        to=["anna@example.net"],
    )

    bounce = mail_receive(
        dsn(failed="anna@example.net", original_message_id="reply.1@firm.example"), via="pipe"
    )

    assert bounce.message.kind == "bounce"
    assert BouncingAddress.objects.get(address="anna@example.net").reason.startswith("smtp; 550")
    sent = Message.objects.get(message_id="reply.1@firm.example")
    assert sent.delivery == "failed" and "550" in sent.delivery_error
    assert bounce.interaction.thread == thread  # on the conversation, never in the queue
    assert not bounce.interaction.requires_response
    assert not Customer.objects.filter(email__icontains="mailer-daemon").exists()

    # Mail from the address again means it works again.
    receive(subject="I fixed my mailbox")
    assert not BouncingAddress.objects.exists()


def test_admin_rules_make_a_complaint(mailbox, anna):
    Rule.objects.create(field="subject", contains="complaint", type="complaint")

    assert receive(subject="A formal COMPLAINT about my order").interaction.type == "complaint"
    assert receive(subject="A question").interaction.type == "inquiry"


def test_attachments_are_stored_within_limits(mailbox, anna, settings):
    settings.MAIL_ATTACHMENT_MAX_BYTES = 1000
    received = receive(
        attachments=[
            ("invoice.pdf", "application/pdf", b"%PDF-1.4 small"),
            ("huge.bin", "application/octet-stream", b"x" * 5000),
            ("run.exe", "application/octet-stream", b"MZ"),
        ]
    )

    stored = {a.filename: a for a in received.message.attachments.all()}
    assert set(stored) == {"invoice.pdf", "huge.bin", "run.exe"}
    assert not stored["invoice.pdf"].refused
    with default_storage.open(stored["invoice.pdf"].file.name) as handle:
        assert handle.read() == b"%PDF-1.4 small"
    assert "larger than" in stored["huge.bin"].refused and not stored["huge.bin"].file
    assert "program" in stored["run.exe"].refused and stored["run.exe"].size == 2


def test_a_message_over_the_size_limit_is_refused_whole(mailbox, settings):
    settings.MAIL_MESSAGE_MAX_BYTES = 2000
    with pytest.raises(MessageTooLarge, match="at most 2,000"):
        receive(body="x" * 5000)
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "mail",
    [
        b"",
        b"\x00\xff\xfe garbage \r\n\r\n\x00",
        b"From: nobody\r\nSubject: =?x-unknown?B?SGVsbG8=?=\r\n\r\nbody",
        b"From: a@b.example\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\n\xe4\xf6\xfc",
        b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
        b"Content-Type: text/plain\r\n\r\nunterminated",
        b"From: " + b"x" * 20000 + b"@huge.example\r\nSubject: " + b"s" * 100000 + b"\r\n\r\nhi",
        b"From: a@b.example\r\nDate: Tue, 99 Foo 99999 99:99:99 +9999\r\n\r\nbad date",
        b"From: <a@b.example>\r\nMessage-ID: <" + b"i" * 3000 + b">\r\n\r\nlong id",
        b"From: =?utf-8?q?\xff\xfe?= <a@b.example>\r\nSubject: \xff\xfe\r\n\r\nraw 8bit",
        b'From: "a\r\n b" <a@b.example>\r\nSubject: folded\r\n injected: header\r\n\r\nx',
    ],
)
def test_malformed_mail_is_stored_safely(mailbox, mail):
    received = mail_receive(mail, via="pipe")

    stored = Message.objects.get(pk=received.message.pk)
    assert len(stored.message_id) <= 255
    assert len(stored.subject) <= 998 and "\n" not in stored.subject
    if stored.interaction is not None:
        assert len(stored.interaction.subject) <= 200


def test_a_flood_from_one_sender_is_stored_but_not_queued(mailbox, anna, settings):
    settings.MAIL_SENDER_RATE = "3/hour"
    CustomerEmail.objects.create(customer=anna, address="anna.flood@example.net")
    received = [receive(sender="anna.flood@example.net", subject=f"Spam {n}") for n in range(5)]

    assert Message.objects.count() == 5
    queued = [r.interaction.requires_response for r in received]
    assert queued == [True, True, True, False, False]
