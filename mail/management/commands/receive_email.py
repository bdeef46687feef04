"""`python manage.py receive_email [--mailbox ADDRESS] < message.eml`: one message from a mail
server's pipe transport (Postfix `pipe`, an /etc/aliases `|command`, Exim's pipe transport).

The exit status is a sysexits(3) code, which the mail server reads: 0 stored (or stored
before: a redelivery is harmless), 75 EX_TEMPFAIL when this side is not ready (the database
away, anything unexpected), so the server queues the message and tries again, 65 EX_DATAERR
for a message that can never be accepted (empty, too large), 67 EX_NOUSER for a mailbox that
does not exist, so the server bounces it to the sender at once."""

import logging
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, InterfaceError, OperationalError

from mail.inbound import MessageTooLarge, mail_receive
from mail.models import Mailbox, Via

logger = logging.getLogger(__name__)

EX_OK = 0
EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Receive one email message on standard input (for a mail server's pipe transport)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--mailbox",
            help="The mailbox address it was delivered to (default: read from the message).",
        )

    def handle(self, *args, mailbox=None, **options):
        sys.exit(self.receive(sys.stdin.buffer, mailbox_address=mailbox))

    def receive(self, stream, *, mailbox_address: str | None) -> int:
        raw = stream.read(settings.MAIL_MESSAGE_MAX_BYTES + 1)
        if not raw.strip():
            self.stderr.write("receive_email: no message on standard input")
            return EX_DATAERR
        try:
            mailbox = None
            if mailbox_address:
                mailbox = Mailbox.objects.filter(address__iexact=mailbox_address).first()
                if mailbox is None:
                    self.stderr.write(f"receive_email: no mailbox {mailbox_address!r}")
                    return EX_NOUSER
            received = mail_receive(raw, via=Via.PIPE, mailbox=mailbox)
        except MessageTooLarge as error:
            self.stderr.write(f"receive_email: {error}")
            return EX_DATAERR
        except (OperationalError, InterfaceError, DatabaseError) as error:
            self.stderr.write(f"receive_email: try again later ({type(error).__name__}: {error})")
            return EX_TEMPFAIL
        except Exception:
            # A bug here must not lose the customer's mail: the server keeps it and retries.
            logger.exception("receive_email failed")
            self.stderr.write("receive_email: internal error; the mail server will retry")
            return EX_TEMPFAIL
        state = "stored" if received.created else "already stored"
        self.stdout.write(f"receive_email: {state} message {received.message.pk}")
        return EX_OK
