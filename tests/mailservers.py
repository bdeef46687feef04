"""Real mail servers for the tests.

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
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.processes import ROOT

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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
