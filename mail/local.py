"""The local mailbox of the embedded default (`bin/run`): what the app sends lands in a
Maildir under var/mail instead of leaving the machine, and staff can read it in the app and
answer as the customer would, so the whole email loop can be tried with no mail server.

`LocalMailboxBackend` is a Django email backend (settings EMAIL_BACKEND). The Maildir is the
standard format: `mutt -f var/mail/sent` or any Maildir reader opens it too."""

from __future__ import annotations

import mailbox as maildir_lib
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

LOCAL_BACKEND = "mail.backends.LocalMailboxBackend"


def local_mailbox_enabled() -> bool:
    return settings.EMAIL_BACKEND == LOCAL_BACKEND


def _maildir() -> maildir_lib.Maildir:
    path = Path(settings.MAIL_LOCAL_MAILDIR) / "sent"
    path.parent.mkdir(parents=True, exist_ok=True)
    return maildir_lib.Maildir(path, create=True)


class LocalMailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        box = _maildir()
        sent = 0
        for message in email_messages:
            raw = message.message().as_bytes(linesep="\n")
            box.add(maildir_lib.MaildirMessage(raw))
            sent += 1
        return sent


@dataclass(frozen=True)
class LocalMessage:
    key: str
    message: EmailMessage

    # Not __getitem__: templates would read `item.key` as the header "key".
    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))

    @property
    def to(self) -> str:
        return self.header("To")

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def message_id(self) -> str:
        return self.header("Message-ID")

    @property
    def reply_to(self) -> str:
        return self.header("Reply-To")

    @property
    def in_reply_to(self) -> str:
        return self.header("In-Reply-To")

    @property
    def date(self):
        try:
            return parsedate_to_datetime(self.header("Date"))
        except (TypeError, ValueError):
            return None

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


def local_messages(limit: int = 100) -> list[LocalMessage]:
    """The newest messages of the local mailbox first."""
    box = _maildir()
    found = []
    # Maildir keys begin with the delivery time: the newest are read, not the whole box.
    for key in sorted(box.iterkeys(), reverse=True)[:limit]:
        with box.get_file(key) as handle:
            message = message_from_bytes(handle.read(), policy=policy.default)
        found.append(LocalMessage(key=key, message=message))  # type: ignore[arg-type]
    found.sort(key=lambda item: item.date or timezone.now(), reverse=True)
    return found[:limit]


def local_message(key: str) -> LocalMessage | None:
    box = _maildir()
    try:
        with box.get_file(key) as handle:
            raw = handle.read()
    except (KeyError, ValueError):
        return None
    return LocalMessage(key=key, message=message_from_bytes(raw, policy=policy.default))  # type: ignore[arg-type]


def customer_message_build(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    in_reply_to: str = "",
    references: str = "",
) -> bytes:
    """A message as the customer's mail client would send it (the "answer as the customer"
    form of the local mailbox). Django's forms have refused line breaks in the headers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain="customer.localhost")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    message.set_content(body)
    return bytes(message)
