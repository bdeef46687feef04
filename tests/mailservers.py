"""Real mail servers for the tests.

SMTP: aiosmtpd on 127.0.0.1 and a free port, in a thread of the test process (`smtp_server`,
`smtp_settings`). It keeps every message it accepted, parsed as a mail client would
(`email.message_from_bytes(..., policy=policy.default)`), and can be told to answer the next
messages (or all of them) with a failure, e.g. 451 (try again later) or 550 (refused).

IMAP: the private Dovecot that `bin/services` starts (127.0.0.1, 10143 plain + STARTTLS,
10993 IMAPS, its CA in `DOVECOT_CA_FILE`). `imap_account` gives each test a fresh user of
its own; `ImapAccount.append` puts messages in its folders with IMAP APPEND and
`ImapAccount.messages` reads a folder back (stdlib imaplib, not the code under test).
"""

from __future__ import annotations

import imaplib
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from devtools.processes import ROOT

# SMTP ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class SmtpSink:
    """The handler: what arrived, and the failures to answer with."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: deque[str] = deque()
        self.always: str | None = None
        self.attempts = 0
        self._lock = threading.Lock()
        self.host = "127.0.0.1"
        self.port = 0

    def fail_next(self, answer: str, times: int = 1) -> None:
        """Answer the next `times` messages with `answer` ("451 4.3.0 Try again later")."""
        with self._lock:
            self.answers.extend([answer] * times)

    def fail_always(self, answer: str | None) -> None:
        self.always = answer

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.attempts += 1
            if self.answers:
                return self.answers.popleft()
            if self.always:
                return self.always
            raw = envelope.original_content or envelope.content
            self.received.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=message_from_bytes(raw, policy=policy.default),
                    raw=raw,
                )
            )
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.received)} of {count} messages arrived within {timeout} s"
                )
            time.sleep(0.05)
        return self.received

    @property
    def env(self) -> dict[str, str]:
        """The environment a worker process needs to send here."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": str(self.port),
            "EMAIL_TIMEOUT": "5",
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    """This process sends to the test server (pytest-django otherwise keeps mail in memory)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_TIMEOUT = 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    return smtp_server


# IMAP ----------------------------------------------------------------------------------------

DOVECOT_DIR = Path(os.environ.get("CRM_DOVECOT_DIR", "/tmp/crm-dovecot"))
DOVECOT_CA_FILE = DOVECOT_DIR / "tls" / "ca.pem"
IMAP_HOST = "localhost"  # the name in the server's certificate (and 127.0.0.1)
IMAP_PORT = 10143
IMAPS_PORT = 10993


def dovecot_running() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", IMAP_PORT), timeout=2) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False


def dovecot_ensure() -> None:
    """Start the test Dovecot when it is not answering (bin/services is idempotent)."""
    if not dovecot_running():
        subprocess.run([ROOT / "bin" / "services"], check=True, capture_output=True)


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    return free_port()


@dataclass
class ImapAccount:
    user: str
    password: str
    host: str = IMAP_HOST
    port: int = IMAP_PORT
    ssl_port: int = IMAPS_PORT
    ca_file: Path = DOVECOT_CA_FILE

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.starttls(ssl.create_default_context(cafile=str(self.ca_file)))
        client.login(self.user, self.password)
        return client

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        """APPEND each raw message to `folder` (created when missing)."""
        client = self.connect()
        try:
            client.create(_quoted(folder))  # NO when it exists: fine
            for raw in messages:
                status, answer = client.append(_quoted(folder), None, None, raw)
                assert status == "OK", answer
        finally:
            client.logout()

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """The raw messages in `folder`, in order, leaving them as they are (no \\Seen)."""
        client = self.connect()
        try:
            status, _ = client.select(_quoted(folder), readonly=True)
            if status != "OK":
                return []
            _, (numbers,) = client.search(None, "ALL")
            found = []
            for number in numbers.split():
                _, data = client.fetch(number, "(BODY.PEEK[])")
                found.append(data[0][1])
            return found
        finally:
            client.logout()

    def folders(self) -> list[str]:
        client = self.connect()
        try:
            _, lines = client.list()
            # (\HasNoChildren) "/" Processed  →  Processed
            return sorted(line.decode().rsplit(' "/" ', 1)[1].strip('"') for line in lines)
        finally:
            client.logout()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_user_add(user: str, password: str) -> None:
    """A Dovecot user: one line in its passwd-file. Dovecot re-reads the file when it
    changed, but looks at most once a second: wait until the user can log in."""
    with open(DOVECOT_DIR / "users", "a") as users:
        users.write(f"{user}:{{PLAIN}}{password}\n")
    deadline = time.monotonic() + 5
    while True:
        client = imaplib.IMAP4(IMAP_HOST, IMAP_PORT, timeout=10)
        try:
            client.login(user, password)
        except imaplib.IMAP4.error:
            client.shutdown()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        else:
            client.logout()
            return


@pytest.fixture
def imap_account():
    """A fresh Dovecot user with its own password and empty mailbox, unique to the test."""
    dovecot_ensure()
    account = ImapAccount(user=f"t{secrets.token_hex(6)}", password=secrets.token_urlsafe(12))
    imap_user_add(account.user, account.password)
    yield account
    shutil.rmtree(DOVECOT_DIR / "mail" / account.user, ignore_errors=True)
