"""IMAP polling against the real Dovecot of bin/services (tests/mailservers.py): every
message stored once and moved, TLS both ways with certificates checked, and a server that
refuses, times out or drops the connection mid-fetch (the error on the mailbox, nothing lost,
nothing stored twice, the next poll completes)."""

import socket
import threading
from contextlib import contextmanager, suppress
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import psycopg2
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection
from django.utils import timezone

from crm.celery import app
from mail import imap
from mail.models import Mailbox, Message, Security
from mail.secrets import secret_encrypt
from mail.tasks import mailboxes_poll

from ..mailservers import DOVECOT_CA_FILE, IMAP_PORT, IMAPS_PORT, closed_port
from ..worker import celery_worker, wait_for, worker_database_url


@pytest.fixture
def trust_test_ca(settings):
    settings.MAIL_IMAP_CA_FILE = str(DOVECOT_CA_FILE)


def mailbox_for(account, *, security=Security.STARTTLS, **fields) -> Mailbox:
    port = IMAPS_PORT if security == Security.SSL else IMAP_PORT
    return Mailbox.objects.create(
        name="Support",
        address=f"{account.user}@firm.example",
        imap_host=account.host,
        imap_port=port,
        imap_security=security,
        imap_user=account.user,
        imap_password_encrypted=secret_encrypt(account.password),
        **fields,
    )


def mail(n: int, *, body: str = "", sender: str = "anna@example.net") -> bytes:
    message = EmailMessage()
    message["From"] = f"Anna Keller <{sender}>"
    message["To"] = "support@firm.example"
    message["Subject"] = f"Question {n}"
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content(body or f"When will order {n} arrive?\n")
    return message.as_bytes(policy=policy.SMTP)  # CRLF, as IMAP keeps it


@pytest.mark.django_db
@pytest.mark.parametrize("security", [Security.STARTTLS, Security.SSL, Security.PLAIN])
def test_it_stores_every_message_once_and_moves_it_to_processed(
    imap_account, trust_test_ca, security, alices_customer
):
    sent = [mail(n) for n in range(3)]
    imap_account.append(*sent)
    mailbox = mailbox_for(imap_account, security=security)

    result = imap.mailbox_poll(mailbox)

    assert (result.fetched, result.stored, result.duplicates, result.failed) == (3, 3, 0, 0)
    stored = Message.objects.filter(mailbox=mailbox, via="imap").select_related("interaction")
    assert sorted(m.subject for m in stored) == ["Question 0", "Question 1", "Question 2"]
    assert {(m.interaction.customer, m.interaction.channel) for m in stored} == {
        (alices_customer, "email")
    }
    assert imap_account.messages("INBOX") == []
    assert imap_account.messages("Processed") == sent
    assert "Processed" in imap_account.folders()
    mailbox.refresh_from_db()
    assert (mailbox.poll_error, mailbox.poll_failures) == ("", 0)
    assert mailbox.polled_at is not None


@pytest.mark.django_db
def test_a_message_appended_again_is_not_stored_again(imap_account, trust_test_ca):
    again = mail(1)
    imap_account.append(again, mail(2))
    mailbox = mailbox_for(imap_account)
    imap.mailbox_poll(mailbox)

    imap_account.append(again)
    result = imap.mailbox_poll(mailbox)

    assert (result.fetched, result.stored, result.duplicates) == (1, 0, 1)
    assert Message.objects.filter(mailbox=mailbox).count() == 2
    assert imap_account.messages("INBOX") == []
    assert len(imap_account.messages("Processed")) == 3


@pytest.mark.django_db
def test_it_polls_in_batches_into_an_existing_processed_folder(
    imap_account, trust_test_ca, settings
):
    settings.MAIL_IMAP_BATCH = 2
    imap_account.append(mail(0), folder="Done/2026")
    imap_account.append(*[mail(n) for n in range(1, 6)], folder="Support")
    mailbox = mailbox_for(imap_account, imap_folder="Support", imap_processed_folder="Done/2026")

    result = imap.mailbox_poll(mailbox)

    assert (result.fetched, result.stored, result.moved) == (5, 5, 5)
    assert imap_account.messages("Support") == []
    assert len(imap_account.messages("Done/2026")) == 6


@pytest.mark.django_db
def test_a_message_too_large_is_left_in_the_folder_flagged_and_passed_by(
    imap_account, trust_test_ca, settings
):
    settings.MAIL_MESSAGE_MAX_BYTES = 4000
    large = mail(2, body=("x" * 70 + "\n") * 80)
    imap_account.append(mail(1), large)
    mailbox = mailbox_for(imap_account)

    first = imap.mailbox_poll(mailbox)
    second = imap.mailbox_poll(mailbox)

    assert (first.stored, first.too_large) == (1, 1)
    assert "1 message(s) over 4,000 bytes (MAIL_MESSAGE_MAX_BYTES) were left in INBOX" in (
        first.error
    )
    assert (second.fetched, second.too_large, second.error) == (0, 0, "")
    assert imap_account.messages("INBOX") == [large]
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_it_takes_the_password_from_the_environment(imap_account, trust_test_ca, monkeypatch):
    imap_account.append(mail(1))
    mailbox = mailbox_for(imap_account, imap_password_env="CRM_TEST_IMAP_PASSWORD")
    mailbox.imap_password_encrypted = ""
    mailbox.save()

    unset = imap.mailbox_poll(mailbox)
    monkeypatch.setenv("CRM_TEST_IMAP_PASSWORD", imap_account.password)
    result = imap.mailbox_poll(mailbox, force=True)

    assert unset.error == "The environment variable CRM_TEST_IMAP_PASSWORD is not set."
    assert result.stored == 1


@pytest.mark.django_db
def test_a_certificate_of_an_unknown_ca_is_refused(imap_account):
    imap_account.append(mail(1))
    mailbox = mailbox_for(imap_account, security=Security.SSL)

    result = imap.mailbox_poll(mailbox)

    assert result.error.startswith(f"The certificate of localhost:{IMAPS_PORT} is not trusted")
    assert Message.objects.count() == 0
    assert len(imap_account.messages("INBOX")) == 1
    mailbox.refresh_from_db()
    assert mailbox.poll_failures == 1


@pytest.mark.django_db
def test_a_wrong_password_is_recorded_and_nothing_moves(imap_account, trust_test_ca):
    imap_account.append(mail(1))
    mailbox = mailbox_for(imap_account)
    mailbox.imap_password_encrypted = secret_encrypt("not the password")
    mailbox.save()

    result = imap.mailbox_poll(mailbox)

    assert result.error.startswith(
        f"localhost:{IMAP_PORT} refused the login of {imap_account.user}: "
    )
    assert "Authentication failed" in result.error
    mailbox.refresh_from_db()
    assert (mailbox.poll_error, mailbox.poll_failures) == (result.error, 1)
    assert Message.objects.count() == 0
    assert len(imap_account.messages("INBOX")) == 1


@pytest.mark.django_db
def test_an_unreachable_server_is_recorded_backed_off_and_polled_when_back(
    imap_account, trust_test_ca
):
    imap_account.append(mail(1), mail(2))
    mailbox = mailbox_for(imap_account)
    port = closed_port()
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_port=port)

    first = imap.mailbox_poll(mailbox)
    second = imap.mailbox_poll(mailbox)  # right after: backing off
    mailbox.refresh_from_db()
    failed = (mailbox.poll_error, mailbox.poll_failures)
    # The server is back, and the back-off (2 minutes after one failure) has passed.
    Mailbox.objects.filter(pk=mailbox.pk).update(
        imap_port=IMAP_PORT, polled_at=timezone.now() - timedelta(minutes=2, seconds=1)
    )
    back = imap.mailbox_poll(mailbox)

    assert first.error == f"Connection refused by localhost:{port}."
    assert failed == (first.error, 1)
    assert second.skipped.startswith("backing off after 1 failures")
    assert (back.error, back.stored) == ("", 2)
    mailbox.refresh_from_db()
    assert (mailbox.poll_error, mailbox.poll_failures) == ("", 0)


def advisory_locks(mailbox_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE d.datname = current_database() AND l.locktype = 'advisory' "
            "AND l.classid = %s AND l.objid = %s",
            [imap.LOCK_CLASS, mailbox_id],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_one_poll_of_a_mailbox_runs_at_a_time(imap_account, trust_test_ca):
    imap_account.append(mail(1))
    mailbox = mailbox_for(imap_account)
    other = psycopg2.connect(worker_database_url())  # another worker's database session
    other.autocommit = True
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [imap.LOCK_CLASS, mailbox.pk])

    busy = imap.mailbox_poll(mailbox)
    other.close()  # that worker is done (or died): its lock goes with its session
    wait_for(lambda: not advisory_locks(mailbox.pk))
    free = imap.mailbox_poll(mailbox)

    assert busy.skipped == "another poll of this mailbox is running"
    assert free.stored == 1


def test_the_back_off_doubles_up_to_half_an_hour():
    polled = timezone.now()
    waits = [
        imap.mailbox_poll_next_at(Mailbox(polled_at=polled, poll_failures=n)) for n in range(7)
    ]

    assert waits[0] is None
    assert [(w - polled) / timedelta(minutes=1) for w in waits[1:]] == [2, 4, 8, 16, 30, 30]


@contextmanager
def silent_server():
    """Accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept():
        try:
            while True:
                accepted.append(listener.accept()[0])
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


@pytest.mark.django_db
def test_a_server_that_does_not_answer_times_out(imap_account, settings):
    settings.MAIL_IMAP_TIMEOUT = 0.5
    mailbox = mailbox_for(imap_account)
    with silent_server() as port:
        Mailbox.objects.filter(pk=mailbox.pk).update(imap_port=port)

        result = imap.mailbox_poll(mailbox)

    assert result.error == f"No answer from localhost:{port} within 0.5 s."
    mailbox.refresh_from_db()
    assert mailbox.poll_failures == 1


@contextmanager
def cutting_proxy(marker: bytes):
    """A TCP proxy to the test Dovecot that drops both sides of the connection as soon as
    the server sends `marker` (before passing it on)."""
    listener = socket.create_server(("127.0.0.1", 0))
    threads = []

    def pipe(source, target, watch):
        seen = b""
        try:
            while data := source.recv(65536):
                seen = (seen + data)[-len(marker) - 65536 :]
                if watch and marker in seen:
                    break
                target.sendall(data)
        except OSError:
            pass
        for side in (source, target):
            with suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
            side.close()

    def serve():
        try:
            while True:
                client, _ = listener.accept()
                server = socket.create_connection(("127.0.0.1", IMAP_PORT))
                for args in ((client, server, False), (server, client, True)):
                    thread = threading.Thread(target=pipe, args=args, daemon=True)
                    thread.start()
                    threads.append(thread)
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.mark.django_db
def test_a_connection_dropped_mid_fetch_loses_nothing_and_stores_nothing_twice(
    imap_account, settings
):
    settings.MAIL_IMAP_BATCH = 2
    sent = [mail(n, body="CUT HERE\n" if n == 3 else "") for n in range(6)]
    imap_account.append(*sent)
    mailbox = mailbox_for(imap_account, security=Security.PLAIN)  # the proxy reads the bytes

    with cutting_proxy(b"CUT HERE") as port:
        Mailbox.objects.filter(pk=mailbox.pk).update(imap_port=port)
        cut = imap.mailbox_poll(mailbox)
    stored_before = set(Message.objects.values_list("message_id", flat=True))
    in_folder = (len(imap_account.messages("INBOX")), len(imap_account.messages("Processed")))
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_port=IMAP_PORT)
    again = imap.mailbox_poll(mailbox, force=True)

    # The first batch (messages 0 and 1) was stored and moved; the second was cut mid-fetch.
    assert (cut.fetched, cut.stored, cut.moved) == (2, 2, 2)
    assert cut.error.startswith(f"The connection to localhost:{port} was lost")
    assert in_folder == (4, 2)
    assert len(stored_before) == 2
    assert (again.fetched, again.stored, again.duplicates, again.error) == (4, 4, 0, "")
    assert Message.objects.count() == 6
    assert imap_account.messages("INBOX") == []
    assert imap_account.messages("Processed") == sent


@pytest.mark.django_db
def test_a_database_failure_leaves_the_message_for_the_next_poll(
    imap_account, trust_test_ca, monkeypatch
):
    sent = [mail(n) for n in range(3)]
    imap_account.append(*sent)
    mailbox = mailbox_for(imap_account)
    receive = imap.mail_receive

    def database_goes_away_at_the_second(raw, **kwargs):
        if raw == sent[1]:
            raise OperationalError("server closed the connection unexpectedly")
        return receive(raw, **kwargs)

    monkeypatch.setattr(imap, "mail_receive", database_goes_away_at_the_second)
    with pytest.raises(OperationalError):
        imap.mailbox_poll(mailbox)
    monkeypatch.setattr(imap, "mail_receive", receive)
    left = imap_account.messages("INBOX")
    again = imap.mailbox_poll(mailbox, force=True)

    assert left == sent[1:]
    assert (again.stored, again.duplicates) == (2, 0)
    assert Message.objects.count() == 3
    assert imap_account.messages("Processed") == sent


@pytest.mark.django_db
def test_the_command_polls_one_mailbox_and_fails_loudly(imap_account, trust_test_ca, capsys):
    imap_account.append(mail(1))
    mailbox = mailbox_for(imap_account)
    broken = Mailbox.objects.create(
        name="Sales",
        address="sales@firm.example",
        imap_host="localhost",
        imap_port=closed_port(),
        imap_user="sales",
        imap_password_encrypted=secret_encrypt("x"),
    )

    call_command("mail_poll", "--mailbox", mailbox.address)
    with pytest.raises(CommandError, match=r"polling failed: sales@firm\.example"):
        call_command("mail_poll", "--mailbox", broken.address)

    out = capsys.readouterr().out
    assert f"{mailbox.address}: fetched 1, stored 1, duplicates 0, failed 0" in out
    assert "sales@firm.example: fetched 0" in out and "Connection refused" in out


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_polls_the_mailboxes_in_a_worker(imap_account):
    imap_account.append(mail(1), mail(2))
    mailbox = mailbox_for(imap_account)
    Mailbox.objects.create(name="Not polled", address="web@firm.example")  # no IMAP host
    app.control.purge()
    env = {"DATABASE_URL": worker_database_url(), "MAIL_IMAP_CA_FILE": str(DOVECOT_CA_FILE)}

    with celery_worker(env=env):
        mailboxes_poll.delay()
        wait_for(lambda: Message.objects.filter(mailbox=mailbox).count() == 2, timeout=30)

    assert imap_account.messages("INBOX") == []
    mailbox.refresh_from_db()
    assert mailbox.polled_at is not None and mailbox.poll_error == ""
