"""The sign-in link goes the production way: the request commits, the task goes through the
broker to a real Celery worker process, which stores the token's hash and mails the link to
the SMTP test server; the link read from that message signs the customer in."""

import re

import pytest
from django.test import Client

from crm.celery import app
from portal.models import PortalSignInToken
from portal.signin import SESSION_KEY, token_hash

from .factories import CustomerFactory
from .mailservers import smtp_server  # noqa: F401 - the fixture
from .worker import celery_worker, worker_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://[^\s/]+(/portal/sign-in/([A-Za-z0-9_-]+)/)")


@pytest.fixture
def worker(smtp_server):  # noqa: F811 - the fixture
    app.control.purge()
    env = {"DATABASE_URL": worker_database_url(), **smtp_server.env}
    with celery_worker(env=env) as node:
        yield node


def test_a_worker_mails_the_link_and_the_link_signs_in(
    worker,
    smtp_server,  # noqa: F811 - the fixture
):
    customer = CustomerFactory(email="worker.portal@example.net")
    client = Client()

    answer = client.post("/portal/sign-in/", {"email": "worker.portal@example.net"})

    assert answer.status_code == 200
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == ["worker.portal@example.net"]
    body = received.message.get_body(preferencelist=("plain",)).get_content()
    path, token = LINK.search(body).groups()
    assert PortalSignInToken.objects.get(customer=customer).token_hash == token_hash(token)
    assert client.post(path).status_code == 302
    assert client.session[SESSION_KEY] == customer.pk
