"""Answering a customer by email: what a reply and an outreach write (mail.services)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from customers.facts import FactInput
from customers.models import ChannelConsent, FactKey
from interactions.models import Interaction
from interactions.services import interaction_log
from mail import tasks
from mail.models import BouncingAddress, CannedReply, Message
from mail.services import (
    canned_reply_check,
    canned_reply_render,
    mail_outreach_send,
    mail_reply_send,
)

from ..factories import CustomerFactory
from .helpers import inbound_mail, mailbox_default

pytestmark = pytest.mark.django_db


def test_it_stores_a_reply_in_the_thread_with_its_threading_headers(alices_customer, charlie):
    mailbox = mailbox_default()
    first = inbound_mail(alices_customer, mailbox=mailbox, references="root@example.net")
    sent = []

    reply = mail_reply_send(
        interaction=first, body="  We send a new one today.  ", sent_by=charlie, send=sent.append
    )

    assert (reply.thread_id, reply.direction, reply.channel, reply.type) == (
        first.pk,
        "outbound",
        "email",
        "inquiry",
    )
    assert (reply.subject, reply.notes, reply.logged_by) == (
        "Re: Grinder broken",
        "We send a new one today.",
        charlie,
    )
    message = Message.objects.get(interaction=reply)
    assert sent == [message.pk]
    assert (message.direction, message.via, message.delivery) == ("outbound", "app", "queued")
    assert f".crm.t{first.pk}@" in message.message_id and "<" not in message.message_id
    assert message.in_reply_to == "abc@example.net"
    assert message.references == "root@example.net abc@example.net"
    assert (message.to, message.from_address, message.from_name, message.sent_by) == (
        ["anna@example.net"],
        "support@firm.example",
        "Charlie",
        charlie,
    )
    first.refresh_from_db()
    assert first.first_response_at is not None


def test_it_answers_the_address_the_customer_last_wrote_from(alices_customer, charlie):
    first = inbound_mail(alices_customer)
    inbound_mail(
        alices_customer,
        thread=first,
        message_id="second@example.net",
        from_address="anna.keller@work.example",
        match="thread",
        subject="Re: Grinder broken",
        minutes_ago=10,
    )
    reply = mail_reply_send(interaction=first, body="Thanks", sent_by=charlie)
    message = reply.message
    assert message.to == ["anna.keller@work.example"]
    assert message.in_reply_to == "second@example.net"
    assert reply.subject == "Re: Grinder broken"  # not "Re: Re: …"


def test_a_later_reply_is_recorded_and_keeps_the_first_response(alices_customer, charlie):
    first = inbound_mail(alices_customer)
    mail_reply_send(interaction=first, body="One", sent_by=charlie)
    first.refresh_from_db()
    answered_at = first.first_response_at
    mail_reply_send(interaction=first, body="Two", sent_by=charlie)
    first.refresh_from_db()
    assert first.first_response_at == answered_at
    assert Interaction.objects.filter(thread=first, direction="outbound").count() == 2


def test_a_reply_to_an_item_without_mail_goes_to_the_main_address(alices_customer, alice):
    call = interaction_log(
        customer=alices_customer,
        logged_by=alice,
        channel="phone",
        direction="inbound",
        type="complaint",
        subject="Beans stale",
    )
    reply = mail_reply_send(interaction=call, body="Sorry!", sent_by=alice)
    assert reply.message.to == ["anna@example.net"]
    assert (reply.message.in_reply_to, reply.message.references) == ("", "")
    assert reply.type == "complaint"
    assert reply.message.from_address == "support@crm.localhost"  # no mailbox: the default


def test_it_refuses_a_reply_to_a_customer_without_an_address(alice):
    nobody = CustomerFactory(owner=alice, email="")
    call = interaction_log(
        customer=nobody,
        logged_by=alice,
        channel="phone",
        direction="inbound",
        type="inquiry",
        subject="Hello",
    )
    with pytest.raises(ValidationError) as refused:
        mail_reply_send(interaction=call, body="Hi", sent_by=alice)
    assert refused.value.message_dict == {
        "to": [f"{nobody.name} has no email address: add one to the customer first."]
    }
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "cc",
    [
        ["ok@example.net\r\nBcc: evil@example.org"],
        ["ok@example.net\nX-Injected: yes"],
        ["two@example.net, three@example.net"],
        ["Evil <evil@example.org>"],
        ["not an address"],
    ],
)
def test_it_refuses_a_cc_that_is_not_one_address(alices_customer, charlie, cc):
    first = inbound_mail(alices_customer)
    with pytest.raises(ValidationError) as refused:
        mail_reply_send(interaction=first, body="Hi", sent_by=charlie, cc=cc)
    assert list(refused.value.message_dict) == ["cc"]
    assert not Interaction.objects.filter(direction="outbound").exists()


def test_it_refuses_an_empty_body_and_a_too_large_attachment(alices_customer, charlie, settings):
    first = inbound_mail(alices_customer)
    with pytest.raises(ValidationError) as refused:
        mail_reply_send(interaction=first, body="   ", sent_by=charlie)
    assert list(refused.value.message_dict) == ["body"]
    settings.MAIL_ATTACHMENT_MAX_BYTES = 10
    big = SimpleUploadedFile("big.pdf", b"x" * 11, content_type="application/pdf")
    with pytest.raises(ValidationError) as refused:
        mail_reply_send(interaction=first, body="Hi", sent_by=charlie, attachments=[big])
    assert list(refused.value.message_dict) == ["attachments"]


def test_it_keeps_attachments_of_a_reply(alices_customer, charlie):
    first = inbound_mail(alices_customer)
    manual = SimpleUploadedFile("manual.pdf", b"%PDF-1.4 manual", content_type="application/pdf")
    reply = mail_reply_send(interaction=first, body="See the manual", sent_by=charlie,
                            attachments=[manual])  # fmt: skip
    (attachment,) = reply.message.attachments.all()
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "manual.pdf",
        "application/pdf",
        15,
    )
    assert attachment.file.read() == b"%PDF-1.4 manual"


def test_a_service_reply_goes_even_to_a_bouncing_address(alices_customer, charlie):
    BouncingAddress.objects.create(address="anna@example.net")
    first = inbound_mail(alices_customer)
    reply = mail_reply_send(interaction=first, body="Hi", sent_by=charlie)
    assert reply.message.delivery == "queued"


def test_outreach_needs_email_consent_and_an_address_that_does_not_bounce(alices_customer, alice):
    def send():
        return mail_outreach_send(
            customer=alices_customer, subject="Our new roast", body="Try it", sent_by=alice
        )

    with pytest.raises(ValidationError) as refused:
        send()
    assert refused.value.message_dict == {
        "customer": ["Anna Keller has not agreed to be contacted by email."]
    }
    ChannelConsent.objects.create(customer=alices_customer, channel="email", granted=False, how="x")
    with pytest.raises(ValidationError):
        send()
    ChannelConsent.objects.filter(customer=alices_customer).update(granted=True)
    BouncingAddress.objects.create(address="anna@example.net")
    with pytest.raises(ValidationError) as refused:
        send()
    assert refused.value.message_dict == {
        "customer": ["Mail to anna@example.net bounces: check the address first."]
    }
    assert not Interaction.objects.exists()
    BouncingAddress.objects.all().delete()

    outreach = send()
    assert (outreach.type, outreach.direction, outreach.thread_id) == ("outreach", "outbound", None)
    assert outreach.message.to == ["anna@example.net"]
    assert outreach.message.subject == "Our new roast"


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: evil@example.org", "Hi\nX: y", "Hi\x00"])
def test_outreach_refuses_a_subject_with_a_line_break(alices_customer, alice, subject):
    ChannelConsent.objects.create(customer=alices_customer, channel="email", granted=True, how="x")
    with pytest.raises(ValidationError) as refused:
        mail_outreach_send(customer=alices_customer, subject=subject, body="x", sent_by=alice)
    assert refused.value.message_dict == {
        "subject": ["The subject must be one line (no line breaks)."]
    }


@pytest.fixture
def brewing(roles):
    return FactKey.objects.get_or_create(
        key="brewing_method",
        defaults={"label": "Brewing method", "value_type": "text"},
    )[0]


def test_a_canned_reply_uses_the_name_and_the_facts_money_only_for_who_sees_money(
    alices_customer, alice, charlie, brewing
):
    interaction_log(
        customer=alices_customer,
        logged_by=alice,
        channel="phone",
        direction="inbound",
        type="teaching",
        subject="Told us",
        facts=[FactInput("brewing_method", "moka"), FactInput("wallet_annual", "1200")],
    )
    canned = CannedReply.objects.create(
        title="Thanks",
        body=(
            "Dear {{ customer.first_name }},\n"
            "for your {{ facts.brewing_method|default:'coffee' }} & more"
            "{% if facts.wallet_annual %} ({{ facts.wallet_annual }}){% endif %}.\n{{ me }}"
        ),
    )
    assert canned_reply_render(canned=canned, customer=alices_customer, user=alice) == (
        "Dear Anna,\nfor your moka & more (1200).\nAlice"
    )
    assert canned_reply_render(canned=canned, customer=alices_customer, user=charlie) == (
        "Dear Anna,\nfor your moka & more.\nCharlie"
    )


@pytest.mark.parametrize(
    "body",
    [
        "Hello {{ customer.name|no_such_filter }}",
        "{% if %}x{% endif %}",
        "{% load static %}",
        "{% include 'base.html' %}",
    ],
)
def test_a_canned_reply_that_is_no_working_template_is_refused_clearly(
    body, alices_customer, alice
):
    with pytest.raises(ValidationError) as refused:
        canned_reply_check(body)
    assert list(refused.value.message_dict) == ["body"]
    assert refused.value.message_dict["body"][0].startswith(
        "The canned reply's template does not work"
    )
    with pytest.raises(ValidationError):
        canned_reply_render(
            canned=CannedReply(title="x", body=body), customer=alices_customer, user=alice
        )


def test_a_working_canned_reply_passes_the_check():
    canned_reply_check("Dear {{ customer.first_name|default:'customer' }}, {{ facts.x }} {{ me }}")


def test_the_sweeper_sends_again_what_was_queued_long_ago_and_never_sent(
    alices_customer, charlie, monkeypatch
):
    first = inbound_mail(alices_customer)
    lost = mail_reply_send(interaction=first, body="Lost", sent_by=charlie).message
    mail_reply_send(interaction=first, body="Recent", sent_by=charlie)  # queued just now
    done = mail_reply_send(interaction=first, body="Done", sent_by=charlie).message
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Message.objects.filter(pk__in=[lost.pk, done.pk]).update(created_at=an_hour_ago)
    Message.objects.filter(pk=done.pk).update(delivery="sent")
    resent = []
    monkeypatch.setattr(
        tasks.mail_send_task, "apply_async", lambda args, **options: resent.append(args)
    )
    assert tasks.mail_unsent_sweep() == 1
    assert resent == [(lost.pk,)]


def test_a_follow_up_of_our_outreach_answers_the_outreach(alices_customer, alice):
    ChannelConsent.objects.create(customer=alices_customer, channel="email", granted=True, how="x")
    outreach = mail_outreach_send(
        customer=alices_customer, subject="Our new roast", body="Try it", sent_by=alice
    )
    follow_up = mail_reply_send(interaction=outreach, body="Did you try it?", sent_by=alice)
    assert follow_up.thread_id == outreach.pk
    assert follow_up.message.in_reply_to == outreach.message.message_id
    assert follow_up.message.references == outreach.message.message_id
    assert follow_up.subject == "Re: Our new roast"
