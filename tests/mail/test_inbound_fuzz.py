"""Bad mail of every kind is stored safely and never crashes the service (issue 16, "Bad
input"): generated messages, a 25 MB attachment, two deliveries of one message at once."""

import threading
from email.message import EmailMessage

import pytest
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from interactions.models import Interaction
from mail.inbound import mail_receive
from mail.models import Attachment, Message
from tests.factories import CustomerFactory

from .messages import raw

HEADER_NAMES = st.sampled_from(
    [
        "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
        "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted", "Return-Path",
        "Precedence", "List-Id", "X-Autoreply", "MIME-Version", "Delivered-To",
    ]
)  # fmt: skip
HEADER_VALUES = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        [
            "=?utf-8?B?////?=", "=?x-unknown?Q?=FF?=", "multipart/mixed; boundary=",
            "text/plain; charset=x-klingon", "<>", "<@>", "a@b", '"\\"@x', "base64",
            "quoted-printable", "multipart/report; report-type=delivery-status",
        ]
    ),
)  # fmt: skip


@st.composite
def messages(draw) -> bytes:
    headers = draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=12))
    lines = [f"{name}: {value}" for name, value in headers]
    head = "\r\n".join(lines).encode("utf-8", "surrogateescape")
    body = draw(st.binary(max_size=2000))
    return head + b"\r\n\r\n" + body


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mail=messages())
def test_any_message_is_stored_or_recognised_never_raised(mail):
    received = mail_receive(mail, via="pipe")

    stored = Message.objects.get(pk=received.message.pk)
    assert stored.message_id
    assert "\x00" not in stored.subject + stored.text + stored.html


@pytest.mark.django_db
def test_a_25_mb_attachment_is_recorded_not_stored_and_the_message_kept(alice):
    anna = CustomerFactory(owner=alice, email="anna@example.net")
    big = b"\x89PNG" + b"\x00\x01" * (25 * 1024 * 1024 // 2)

    received = mail_receive(
        raw(body="The photo of the damage.", attachments=[("damage.png", "image/png", big)]),
        via="imap",
    )

    assert received.interaction.customer == anna
    assert "photo of the damage" in received.interaction.notes
    attachment = Attachment.objects.get()
    assert attachment.size == len(big) and "larger than 10 MB" in attachment.refused
    assert not attachment.file


@pytest.mark.django_db(transaction=True)
def test_one_message_delivered_twice_at_once_is_stored_once(alice):
    """IMAP and the pipe deliver the same message at the same moment: the unique index
    decides, the loser's interaction is rolled back, both callers get the one message."""
    CustomerFactory(owner=alice, email="anna@example.net")
    mail = raw(message_id="<race@client.example>")
    results, errors = [], []
    barrier = threading.Barrier(2)

    def deliver(via):
        try:
            barrier.wait()
            results.append(mail_receive(mail, via=via))
        except Exception as error:  # pragma: no cover - the assertion shows it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(via,)) for via in ("imap", "pipe")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert Message.objects.count() == 1
    assert Interaction.objects.count() == 1
    assert sorted(r.created for r in results) == [False, True]
    assert {r.message.pk for r in results} == {Message.objects.get().pk}


@pytest.mark.django_db
def test_header_injection_through_a_folded_subject_creates_no_header():
    mail = EmailMessage()
    mail["From"] = "x@example.net"
    mail["Subject"] = "Hello"
    mail.set_content("x")
    injected = bytes(mail).replace(
        b"Subject: Hello", b"Subject: Hello\r\n\tBcc: victim@example.net"
    )

    stored = mail_receive(injected, via="pipe").message

    assert "\n" not in stored.subject and "\r" not in stored.subject
    assert stored.cc == []
