"""What threads a conversation through mail clients that keep different parts of it
(docs/email.md, "Threading"):

- the Message-IDs the app writes (`message_id_new`), which replies quote in In-Reply-To and
  References;
- a signed thread token in a plus-address of the mailbox (`support+t123-9f0c…@firm`), set as
  Reply-To, for clients and providers that drop or rewrite those headers;
- a subject tag (`[#123]`), for a client that keeps only the subject; it threads only mail
  from an address of the thread's own customer (anyone can type a tag).

The token is an HMAC of the thread's id under SECRET_KEY: it cannot be guessed or moved to
another thread."""

import re

from django.conf import settings
from django.core.mail import make_msgid
from django.utils.crypto import constant_time_compare, salted_hmac

TOKEN_PATTERN = re.compile(r"^t(?P<thread>\d{1,18})-(?P<signature>[0-9a-f]{12})$")
SUBJECT_TAG_PATTERN = re.compile(r"\[#(?P<thread>\d{1,18})\]")


def _signature(thread_id: int) -> str:
    return salted_hmac("mail.thread", str(thread_id)).hexdigest()[:12]


def thread_token(thread_id: int) -> str:
    return f"t{thread_id}-{_signature(thread_id)}"


def thread_token_read(token: str) -> int | None:
    """The thread a token names, or None when it is not one of ours (or was tampered with)."""
    found = TOKEN_PATTERN.match(token)
    if not found:
        return None
    thread_id = int(found["thread"])
    if not constant_time_compare(found["signature"], _signature(thread_id)):
        return None
    return thread_id


def address_split(address: str) -> tuple[str, str, str]:
    """`support+tag@firm` → ("support", "tag", "firm"); no tag → ("support", "", "firm")."""
    local, _, domain = address.rpartition("@")
    base, _, tag = local.partition("+")
    return base, tag, domain


def address_base(address: str) -> str:
    """The address without its plus-tag, lower-cased."""
    base, _, domain = address_split(address.strip().lower())
    return f"{base}@{domain}" if domain else base


def thread_address(mailbox_address: str, thread_id: int) -> str:
    """The mailbox's plus-address carrying the thread token (the Reply-To of a sent reply)."""
    base, _, domain = address_split(mailbox_address)
    return f"{base}+{thread_token(thread_id)}@{domain}"


def thread_from_addresses(addresses) -> int | None:
    """The thread named by a valid token in any of these recipient addresses."""
    for address in addresses:
        _, tag, _ = address_split(address.strip().lower())
        if tag:
            thread_id = thread_token_read(tag)
            if thread_id is not None:
                return thread_id
    return None


def mail_domain() -> str:
    if settings.MAIL_DOMAIN:
        return settings.MAIL_DOMAIN
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "crm.localhost"


def message_id_new(thread_id: int) -> str:
    """A fresh Message-ID (with angle brackets) for a message of this thread."""
    return make_msgid(idstring=f"crm.t{thread_id}", domain=mail_domain())


def subject_tag(thread_id: int) -> str:
    return f"[#{thread_id}]"


def subject_tagged(subject: str, thread_id: int) -> str:
    """The subject with the thread's tag, once ("Re: Your order [#12]")."""
    tag = subject_tag(thread_id)
    subject = subject.strip()
    return subject if tag in subject else f"{subject} {tag}".strip()


def subject_tag_read(subject: str) -> int | None:
    found = SUBJECT_TAG_PATTERN.search(subject or "")
    return int(found["thread"]) if found else None
