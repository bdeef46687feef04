"""The embedded default (`bin/run`: SQLite, the filesystem broker, a real worker): a reply
sent from the app lands in the local mailbox (a Maildir), marked sent."""

import json

import pytest

from ..test_embedded_default import embedded_env, filesystem_ping_app, manage  # noqa: F401
from ..worker import celery_worker, wait_for

pytestmark = pytest.mark.worker

REPLY = """
from django.contrib.auth import get_user_model
from customers.services import customer_create
from interactions.services import interaction_log
from mail import services, tasks
user = get_user_model().objects.create_user("sam", password="x", first_name="Sam")
customer = customer_create(name="Embedded Customer", owner=user, email="emb@example.net")
asked = interaction_log(customer=customer, logged_by=None, channel="email",
                        direction="inbound", type="inquiry", subject="Hello from SQLite")
reply = services.mail_reply_send(interaction=asked, body="Hello back", sent_by=user,
                                 send=tasks.mail_send_request)
print(reply.message.pk)
"""

DELIVERY = """
import json
from mail.models import Message
m = Message.objects.get(pk={pk})
print(json.dumps([m.delivery, m.delivery_error]))
"""


def test_a_reply_lands_in_the_local_mailbox(embedded_env, tmp_path):  # noqa: F811
    manage(embedded_env, "migrate", "--noinput")
    with celery_worker(env=embedded_env, ping_app=filesystem_ping_app(tmp_path)):
        pk = manage(embedded_env, "shell", "-c", REPLY).splitlines()[-1]
        wait_for(
            lambda: (
                json.loads(
                    manage(embedded_env, "shell", "-c", DELIVERY.format(pk=pk)).splitlines()[-1]
                )
                == ["sent", ""]
            ),
            timeout=60,
            interval=0.5,
        )
    (sent,) = list((tmp_path / "mail" / "sent" / "new").iterdir())
    text = sent.read_text()
    assert "To: emb@example.net" in text and "Subject: Re: Hello from SQLite [#" in text
    assert "Hello back" in text
