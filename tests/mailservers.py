"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1 and a free port, in a thread of the
test process. It keeps every message it accepted, parsed as a mail client would
(`email.message_from_bytes(..., policy=policy.default)`), and can be told to answer the next
messages (or all of them) with a failure, e.g. 451 (try again later) or 550 (refused)."""

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


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
