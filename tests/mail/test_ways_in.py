"""The MTA pipe (`manage.py receive_email` in a subprocess, as Postfix runs it) and the inbound
HTTP endpoint: one message in, the sysexits / HTTP answers a mail server or provider acts on."""

import base64
import hashlib
import hmac
import os
import subprocess
import sys
import time

import pytest
from django.urls import reverse

from interactions.models import Interaction
from mail.models import Mailbox, Message
from tests.factories import CustomerFactory
from tests.worker import worker_database_url

from .messages import raw

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pipe(mail: bytes, *args: str, database_url: str | None = None):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings.test",
        "DATABASE_URL": database_url or worker_database_url(),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "receive_email", *args],
        input=mail,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_the_pipe_stores_a_message_once_and_answers_in_sysexits(alice):
    Mailbox.objects.create(name="Support", address="support@firm.example", is_default=True)
    anna = CustomerFactory(owner=alice, email="anna@example.net")
    mail = raw(message_id="<piped@client.example>", subject="Piped in")

    first = pipe(mail)
    again = pipe(mail)

    assert first.returncode == 0, first.stderr
    assert b"stored message" in first.stdout
    assert again.returncode == 0 and b"already stored" in again.stdout
    item = Interaction.objects.get(customer=anna)
    assert item.subject == "Piped in" and item.requires_response
    assert Message.objects.get().via == "pipe"

    assert pipe(b"").returncode == 65  # EX_DATAERR: bounced by the mail server
    assert pipe(mail, "--mailbox", "nobody@firm.example").returncode == 67  # EX_NOUSER


@pytest.mark.django_db(transaction=True)
def test_the_pipe_asks_the_mail_server_to_retry_when_the_database_is_away():
    database_url = "postgres://postgres@127.0.0.1:1/crm"  # nothing listens on port 1

    result = pipe(raw(), database_url=database_url)

    assert result.returncode == 75, result.stderr  # EX_TEMPFAIL: queued and retried
    assert b"try again later" in result.stderr


@pytest.fixture
def inbound(settings, db):
    settings.MAIL_INBOUND_TOKEN = "inbound-token-1234"
    settings.MAIL_INBOUND_SECRET = "inbound-secret-5678"
    Mailbox.objects.create(name="Support", address="support@firm.example", is_default=True)
    return reverse("api-mail-inbound")


def test_the_endpoint_takes_a_raw_message_with_the_token(client, inbound, alice):
    anna = CustomerFactory(owner=alice, email="anna@example.net")
    mail = raw(message_id="<http@client.example>", subject="Posted")
    auth = {"HTTP_AUTHORIZATION": "Bearer inbound-token-1234"}

    first = client.post(inbound, mail, content_type="message/rfc822", **auth)
    again = client.post(inbound, mail, content_type="message/rfc822", **auth)

    assert first.status_code == 201, first.content
    assert first.json()["customer"] == anna.pk and first.json()["created"]
    assert again.status_code == 200 and not again.json()["created"]
    assert Message.objects.get().via == "http"


def test_the_endpoint_takes_basic_auth_and_a_signature(client, inbound, alice):
    CustomerFactory(owner=alice, email="anna@example.net")
    basic = base64.b64encode(b"mailgun:inbound-token-1234").decode()
    mail = raw(message_id="<basic@client.example>")
    assert (
        client.post(
            inbound, mail, content_type="message/rfc822", HTTP_AUTHORIZATION=f"Basic {basic}"
        ).status_code
        == 201
    )

    signed = raw(message_id="<signed@client.example>")
    stamp = str(int(time.time()))
    signature = hmac.new(b"inbound-secret-5678", stamp.encode() + b"." + signed, hashlib.sha256)
    header = f"t={stamp},v1={signature.hexdigest()}"
    response = client.post(
        inbound, signed, content_type="message/rfc822", HTTP_X_CRM_SIGNATURE=header
    )
    assert response.status_code == 201

    stale = f"t={int(time.time()) - 3600},v1={signature.hexdigest()}"
    other = raw(message_id="<stale@client.example>")
    assert (
        client.post(
            inbound, other, content_type="message/rfc822", HTTP_X_CRM_SIGNATURE=stale
        ).status_code
        == 401
    )


def test_the_endpoint_takes_a_providers_form_field(client, inbound, alice):
    CustomerFactory(owner=alice, email="anna@example.net")
    mail = raw(message_id="<form@client.example>").decode()

    response = client.post(
        inbound,
        {"body-mime": mail, "recipient": "support@firm.example"},
        HTTP_AUTHORIZATION="Bearer inbound-token-1234",
    )

    assert response.status_code == 201, response.content
    assert Message.objects.filter(message_id="form@client.example").exists()


@pytest.mark.parametrize(
    ("headers", "body", "content_type", "status"),
    [
        ({}, b"From: a@b.example\r\n\r\nx", "message/rfc822", 401),
        (
            {"HTTP_AUTHORIZATION": "Bearer wrong"},
            b"From: a@b.example\r\n\r\nx",
            "message/rfc822",
            401,
        ),
        ({"HTTP_AUTHORIZATION": "Basic !!!"}, b"x", "message/rfc822", 401),
        ({"HTTP_X_CRM_SIGNATURE": "garbage"}, b"x", "message/rfc822", 401),
        ({"HTTP_AUTHORIZATION": "Bearer inbound-token-1234"}, b"   ", "message/rfc822", 400),
        ({"HTTP_AUTHORIZATION": "Bearer inbound-token-1234"}, b"{}", "application/json", 400),
        (
            {"HTTP_AUTHORIZATION": "Bearer inbound-token-1234"},
            b"a=b",
            "application/x-www-form-urlencoded",
            400,
        ),
    ],
)
def test_the_endpoint_refuses_what_it_cannot_take(
    client, inbound, headers, body, content_type, status
):
    response = client.post(inbound, body, content_type=content_type, **headers)

    assert response.status_code == status
    assert response.json()["detail"]
    assert not Message.objects.exists()


def test_the_endpoint_refuses_a_message_too_large_and_is_off_without_a_secret(
    client, inbound, settings
):
    settings.MAIL_MESSAGE_MAX_BYTES = 1000
    big = raw(body="x" * 5000)
    auth = {"HTTP_AUTHORIZATION": "Bearer inbound-token-1234"}
    assert client.post(inbound, big, content_type="message/rfc822", **auth).status_code == 413

    settings.MAIL_INBOUND_TOKEN = settings.MAIL_INBOUND_SECRET = ""
    assert client.post(inbound, raw(), content_type="message/rfc822").status_code == 404
    assert client.get(inbound).status_code == 405
