"""Polling a mailbox over IMAP (docs/email.md, "IMAP").

`mailbox_poll(mailbox)` logs in (TLS from the start, STARTTLS or none, as the mailbox says,
certificates verified against the system's CAs and MAIL_IMAP_CA_FILE), selects the folder and
hands every message to `mail_receive`, in batches bounded in count and bytes. A message is
moved to the processed folder only after it was stored (or found stored already), so a poll
cut short anywhere leaves the rest in the folder: the next poll fetches them again, and what
was stored already is a duplicate by its Message-ID. Nothing is lost, nothing stored twice.

A poll that cannot reach the server or log in records the error on the mailbox and counts a
failure; the scheduled polls then back off (`POLL_BACKOFF_MAX_MINUTES`). One poll of a
mailbox runs at a time (a PostgreSQL advisory lock, held by the database session, so it goes
with a worker that dies).
"""

import imaplib
import logging
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.models import QuerySet
from django.utils import timezone
from imapclient import DELETED, IMAPClient
from imapclient.exceptions import LoginError

from .inbound import mail_receive
from .models import Mailbox, Security, Via
from .secrets import SecretUnreadable, secret_decrypt

logger = logging.getLogger(__name__)

# A mailbox failing n times in a row is skipped for min(2**n, 30) minutes since its last try.
POLL_BACKOFF_MAX_MINUTES = 30
# pg_try_advisory_lock(class, mailbox id): the class keeps these locks apart from others.
LOCK_CLASS = 16_001
# Where there is no advisory lock (SQLite, the embedded default): a cache key that expires.
LOCK_SECONDS = 30 * 60
# The keyword a message too large to accept gets in the folder (left there, passed by).
TOO_LARGE = "$CrmTooLarge"
# Errors of the server or the way to it (refused, timed out, dropped, TLS, protocol).
SERVER_ERRORS = (OSError, imaplib.IMAP4.error)


class MailboxSettingsError(Exception):
    """The mailbox cannot be polled as configured (no password, variable not set)."""


@dataclass
class PollResult:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0  # handed over but not stored (left in the folder for the next poll)
    moved: int = 0
    too_large: int = 0  # over MAIL_MESSAGE_MAX_BYTES: not fetched, flagged, left there
    left: int = 0  # not fetched this time (a limit was given)
    error: str = ""
    skipped: str = ""  # why the poll did not run

    def __str__(self) -> str:
        if self.skipped:
            return f"skipped: {self.skipped}"
        text = (
            f"fetched {self.fetched}, stored {self.stored}, duplicates {self.duplicates}, "
            f"failed {self.failed}"
        )
        if self.too_large:
            text += f", {self.too_large} too large (left in the folder)"
        if self.left:
            text += f", {self.left} left for the next poll"
        return f"{text}; error: {self.error}" if self.error else text


def mailboxes_pollable() -> QuerySet[Mailbox]:
    return Mailbox.objects.filter(imap_enabled=True).exclude(imap_host="")


def mailbox_poll_next_at(mailbox: Mailbox) -> datetime | None:
    """When a mailbox that keeps failing may be polled again (None: now)."""
    if not mailbox.poll_failures or mailbox.polled_at is None:
        return None
    minutes = min(2 ** min(mailbox.poll_failures, 10), POLL_BACKOFF_MAX_MINUTES)
    return mailbox.polled_at + timedelta(minutes=minutes)


def mailbox_password(mailbox: Mailbox) -> str:
    if mailbox.imap_password_env:
        password = os.environ.get(mailbox.imap_password_env)
        if password is None:
            raise MailboxSettingsError(
                f"The environment variable {mailbox.imap_password_env} is not set."
            )
        return password
    if mailbox.imap_password_encrypted:
        try:
            return secret_decrypt(mailbox.imap_password_encrypted)
        except SecretUnreadable as error:
            raise MailboxSettingsError(str(error)) from error
    raise MailboxSettingsError("No password: set its environment variable or enter it.")


def mailbox_poll(mailbox: Mailbox, *, force: bool = False, limit: int | None = None) -> PollResult:
    """Poll one mailbox now; at most `limit` messages when given. Never raises for the server
    or the way to it (the error is recorded on the mailbox and returned); a database that is
    away raises, once what can be recorded is."""
    with _poll_lock(mailbox.pk) as acquired:
        if not acquired:
            return PollResult(skipped="another poll of this mailbox is running")
        mailbox.refresh_from_db()
        next_at = mailbox_poll_next_at(mailbox)
        if not force and next_at is not None and timezone.now() < next_at:
            return PollResult(
                skipped=f"backing off after {mailbox.poll_failures} failures, until "
                f"{timezone.localtime(next_at):%H:%M}"
            )
        result = PollResult()
        try:
            _poll(mailbox, result, limit)
        except (MailboxSettingsError, *SERVER_ERRORS) as error:
            result.error = _describe(error, mailbox)
            logger.warning("polling %s failed: %s (%s)", mailbox.address, result.error, result)
            _record(mailbox, error=result.error, failed=True)
            return result
        except DatabaseError:
            # Stored messages were moved; the rest wait in the folder. Recorded if possible.
            logger.exception("polling %s stopped: the database failed", mailbox.address)
            _record(mailbox, error="The database failed during the poll; retrying.", failed=True)
            raise
        problems = []
        if result.failed:
            problems.append(
                f"{result.failed} message(s) could not be stored and were left in "
                f"{mailbox.imap_folder} (see the log)."
            )
        if result.too_large:
            problems.append(
                f"{result.too_large} message(s) over {settings.MAIL_MESSAGE_MAX_BYTES:,} bytes "
                f"(MAIL_MESSAGE_MAX_BYTES) were left in {mailbox.imap_folder}, flagged "
                f"{TOO_LARGE}."
            )
        result.error = " ".join(problems)
        _record(mailbox, error=result.error, failed=False)
        return result


def _poll(mailbox: Mailbox, result: PollResult, limit: int | None) -> None:
    client = _connect(mailbox, mailbox_password(mailbox))
    try:
        client.select_folder(mailbox.imap_folder)
        if not client.folder_exists(mailbox.imap_processed_folder):
            client.create_folder(mailbox.imap_processed_folder)
        uids = client.search(["NOT", "DELETED", "NOT", "KEYWORD", TOO_LARGE])
        if limit is not None and len(uids) > limit:
            result.left, uids = len(uids) - limit, uids[:limit]
        for batch in _batches(client, uids, result):
            done = _receive_batch(client, mailbox, batch, result)
            if done:
                _move(client, done, mailbox.imap_processed_folder)
                result.moved += len(done)
        client.logout()
    except BaseException:
        _close(client)
        raise


def _connect(mailbox: Mailbox, password: str) -> IMAPClient:
    context = ssl.create_default_context()
    if settings.MAIL_IMAP_CA_FILE:
        context.load_verify_locations(cafile=settings.MAIL_IMAP_CA_FILE)
    timeout = settings.MAIL_IMAP_TIMEOUT
    tls_first = mailbox.imap_security == Security.SSL
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=tls_first,
        ssl_context=context if tls_first else None,
        timeout=timeout,
    )
    try:
        if mailbox.imap_security == Security.STARTTLS:
            client.starttls(context)
        client.login(mailbox.imap_user, password)
    except BaseException:
        _close(client)
        raise
    return client


def _close(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except (*SERVER_ERRORS, AttributeError):
        pass


def _batches(
    client: IMAPClient, uids: list[int], result: PollResult
) -> Iterator[list[tuple[int, int]]]:
    """(uid, size) lists of at most MAIL_IMAP_BATCH messages and MAIL_IMAP_BATCH_BYTES
    bytes (a larger message alone): what one FETCH brings into memory. A message over
    MAIL_MESSAGE_MAX_BYTES is never fetched: it gets the TOO_LARGE keyword and stays in the
    folder for a person to deal with, and later polls pass it by."""
    step = 1000
    for start in range(0, len(uids), step):
        sizes = client.fetch(uids[start : start + step], ["RFC822.SIZE"])
        batch: list[tuple[int, int]] = []
        total = 0
        too_large = []
        for uid in uids[start : start + step]:
            if uid not in sizes:
                continue  # expunged meanwhile by another client
            size = sizes[uid].get(b"RFC822.SIZE", 0)
            if size > settings.MAIL_MESSAGE_MAX_BYTES:
                too_large.append(uid)
                continue
            full = (
                len(batch) >= settings.MAIL_IMAP_BATCH
                or total + size > settings.MAIL_IMAP_BATCH_BYTES
            )
            if batch and full:
                yield batch
                batch, total = [], 0
            batch.append((uid, size))
            total += size
        if too_large:
            client.add_flags(too_large, [TOO_LARGE])
            result.too_large += len(too_large)
        if batch:
            yield batch


def _receive_batch(
    client: IMAPClient, mailbox: Mailbox, batch: list[tuple[int, int]], result: PollResult
) -> list[int]:
    """Fetch a batch and hand each message over; the uids now stored (to be moved)."""
    fetched = client.fetch([uid for uid, _ in batch], ["BODY.PEEK[]"])
    done = []
    for uid, _ in batch:
        raw = fetched.get(uid, {}).get(b"BODY[]")
        if raw is None:
            continue  # expunged meanwhile by another client
        result.fetched += 1
        try:
            received = mail_receive(raw, via=Via.IMAP, mailbox=mailbox)
        except DatabaseError:
            result.failed += 1
            if done:  # what is stored leaves the folder before the poll stops
                _move(client, done, mailbox.imap_processed_folder)
                result.moved += len(done)
            raise
        except Exception:
            # mail_receive stores bad content safely; this is a bug. The message stays.
            result.failed += 1
            logger.exception("message %s of %s was not stored", uid, mailbox.address)
            continue
        if received.created:
            result.stored += 1
        else:
            result.duplicates += 1
        done.append(uid)
    return done


def _move(client: IMAPClient, uids: list[int], folder: str) -> None:
    if client.has_capability("MOVE"):
        client.move(uids, folder)
        return
    client.copy(uids, folder)
    client.add_flags(uids, [DELETED])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


def _record(mailbox: Mailbox, *, error: str, failed: bool) -> None:
    fields = {"polled_at": timezone.now(), "poll_error": error}
    fields["poll_failures"] = mailbox.poll_failures + 1 if failed else 0
    try:
        Mailbox.objects.filter(pk=mailbox.pk).update(**fields)
    except DatabaseError:
        if not failed:
            raise
        logger.exception("could not record the poll error of %s", mailbox.address)
        return
    for name, value in fields.items():
        setattr(mailbox, name, value)


def _describe(error: BaseException, mailbox: Mailbox) -> str:
    """The error in words for the admin: what failed, where."""
    where = f"{mailbox.imap_host}:{mailbox.imap_port}"
    if isinstance(error, MailboxSettingsError):
        return str(error)
    if isinstance(error, LoginError):
        return f"{where} refused the login of {mailbox.imap_user}: {_text(error)}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"The certificate of {where} is not trusted: {error.verify_message}."
    if isinstance(error, ConnectionRefusedError):
        return f"Connection refused by {where}."
    if isinstance(error, TimeoutError):
        return f"No answer from {where} within {settings.MAIL_IMAP_TIMEOUT:g} s."
    if isinstance(error, imaplib.IMAP4.abort | ConnectionError | EOFError):
        return f"The connection to {where} was lost: {error or type(error).__name__}."
    if isinstance(error, OSError):
        return f"Cannot reach {where}: {error.strerror or error}."
    return f"{where} answered: {_text(error)}"


def _text(error: BaseException) -> str:
    text = error.args[0] if error.args else type(error).__name__
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


@contextmanager
def _poll_lock(mailbox_id: int) -> Iterator[bool]:
    if connection.vendor != "postgresql":
        key = f"mail:poll:{mailbox_id}"
        acquired = cache.add(key, 1, timeout=LOCK_SECONDS)
        try:
            yield acquired
        finally:
            if acquired:
                cache.delete(key)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, mailbox_id])
        (acquired,) = cursor.fetchone()
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, mailbox_id])
            except DatabaseError:
                pass  # the session is gone, and its lock with it
