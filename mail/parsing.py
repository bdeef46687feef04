"""Reading one RFC 5322 message into what the channel stores (docs/email.md, "Inbound").

Pure functions over bytes, no database: the standard library's parser (`policy.default`),
`mail-parser-reply` to keep the new text apart from the quoted history, `nh3` (Ammonia) to
sanitise HTML. Whatever the message holds, parsing returns a `Parsed`: what could not be read
as sent (an unknown charset, a broken part, a malformed header) is read as well as it can be
and named in `problems`, never raised.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import nh3
from mailparser_reply import EmailReplyParser

# Longest Message-ID stored as it is; longer ones are stored as their hash (the column).
MESSAGE_ID_MAX = 255
# Bounds on what is kept of a message's text (a 25 MB text part is stored in `raw`, whole).
TEXT_MAX = 200_000
# The reply parser runs regexes over the text: it reads only the head of a long text.
REPLY_SPLIT_MAX = 50_000
HEADER_MAX = 998
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "cs"]

# HTML kept for display: formatting, links and tables; no images (remote images are tracking
# pixels and leak that the message was read), no styles, no scripts, no forms.
HTML_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i",
    "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
HTML_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan"}}
BLOCK_END = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/tr|/li|/h[1-6]|/blockquote|hr\s*/?)\s*>")
MESSAGE_ID_PATTERN = re.compile(r"<([^<>\s]{1,2000})>")
# Senders that only ever report on mail: their messages are delivery reports.
DAEMON_SENDERS = re.compile(r"(?i)^(mailer-daemon|postmaster|mail-daemon)@")


@dataclass
class AttachmentPart:
    filename: str
    content_type: str
    payload: bytes


@dataclass
class Parsed:
    message_id: str  # the key stored (mail.models.Message.message_id)
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    # Every address the message was delivered to (To, Cc, Delivered-To, X-Original-To,
    # Envelope-To): where a thread token or a mailbox address is looked for.
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    text_full: str = ""
    html: str = ""
    kind: str = "regular"  # mail.models.MessageKind
    bounced: list[str] = field(default_factory=list)  # recipients a delivery report names
    bounce_reason: str = ""
    bounced_message_ids: list[str] = field(default_factory=list)
    attachments: list[AttachmentPart] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def message_id_key(value: str) -> str:
    """A Message-ID as stored: without brackets, and hashed when longer than the column."""
    value = value.strip().strip("<>").strip()
    if len(value) > MESSAGE_ID_MAX:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def _ids(value: str) -> list[str]:
    """Message-IDs in a header (In-Reply-To, References), in order, as stored."""
    found = MESSAGE_ID_PATTERN.findall(value or "")
    if not found and value and value.strip() and " " not in value.strip():
        found = [value.strip()]  # a bare id without brackets, as some clients write it
    return [message_id_key(item) for item in found]


def _header(message: Message, name: str, problems: list[str]) -> str:
    """One header as text. A header the strict parser cannot read is read raw."""
    try:
        value = message.get(name)
    except Exception as error:  # the header registry raises on some malformed values
        problems.append(f"{name} header could not be read ({type(error).__name__})")
        raw = message.get_all(name, failobj=[]) if hasattr(message, "get_all") else []
        value = str(raw[0]) if raw else ""
    if value is None:
        return ""
    text = str(value)
    # Headers are single lines: a folded or injected line break is a space.
    return re.sub(r"[\r\n\x00]+", " ", text).strip()[:HEADER_MAX]


def _all_headers(message: Message, name: str, problems: list[str]) -> list[str]:
    try:
        values = message.get_all(name, failobj=[])
    except Exception as error:
        problems.append(f"{name} header could not be read ({type(error).__name__})")
        return []
    return [re.sub(r"[\r\n\x00]+", " ", str(value)).strip() for value in values]


def _addresses(values: list[str]) -> list[str]:
    found = []
    for _, address in getaddresses(values):
        address = address.strip().lower()
        if "@" in address and len(address) <= 254 and address not in found:
            found.append(address)
    return found


def _part_text(part: Message, problems: list[str]) -> str:
    """A text part's content, decoded; an unknown or lying charset is decoded as UTF-8 with
    replacement characters (and named in `problems`)."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, bytes):
            content = content.decode("utf-8", "replace")
        return str(content)
    except (LookupError, UnicodeError, AssertionError, KeyError, ValueError) as error:
        charset = part.get_content_charset() or "unknown"
        problems.append(f"text in charset {charset!r} could not be read as sent ({error})")
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    return str(part.get_payload() or "")


def html_to_text(html: str) -> str:
    """Plain text of an HTML body, for a message that has no text part."""
    html = BLOCK_END.sub("\n", html[: TEXT_MAX * 4])
    text = html_lib.unescape(nh3.clean(html, tags=set(), clean_content_tags={"script", "style"}))
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_sanitise(html: str) -> str:
    return nh3.clean(
        html[: TEXT_MAX * 4],
        tags=HTML_TAGS,
        clean_content_tags={"script", "style"},
        attributes=HTML_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def reply_split(text: str) -> str:
    """The new text of a reply, without the quoted history and the signature where the
    reply parser recognises them; the whole text when it finds nothing."""
    head = text[:REPLY_SPLIT_MAX]
    try:
        latest = EmailReplyParser(languages=REPLY_LANGUAGES).read(head).latest_reply
    except Exception:  # a third-party parser must not lose a message
        latest = None
    latest = (latest or "").strip()
    return latest or text.strip()


def _walk_leaves(message: Message):
    """Every leaf part, depth-first, not descending into attached messages (message/rfc822
    is one attachment) except for delivery reports, which are read apart."""
    if message.get_content_maintype() == "message":
        yield message  # an attached message or a delivery report: one part, read apart
    elif message.is_multipart():
        for part in message.get_payload():  # type: ignore[union-attr]
            if isinstance(part, Message):
                yield from _walk_leaves(part)
    else:
        yield message


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    name = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", str(name)).strip(" .")
    return name[-200:] or "attachment"


def _read_body(message: Message, parsed: Parsed) -> None:
    text_parts: list[str] = []
    html_parts: list[str] = []
    for part in _walk_leaves(message):
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        is_body = disposition != "attachment" and not part.get_filename()
        if content_type == "text/plain" and is_body:
            text_parts.append(_part_text(part, parsed.problems))
        elif content_type == "text/html" and is_body:
            html_parts.append(_part_text(part, parsed.problems))
        elif content_type in {"message/delivery-status", "message/global-delivery-status"}:
            _read_delivery_status(part, parsed)
        elif content_type in {"message/rfc822", "text/rfc822-headers"} and parsed.kind == "bounce":
            _read_bounced_headers(part, parsed)
        elif content_type.startswith("multipart/"):
            continue
        else:
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                # message/rfc822 parts carry a parsed message, not bytes.
                inner = part.get_payload()
                payload = (
                    inner[0].as_bytes()
                    if isinstance(inner, list) and inner and isinstance(inner[0], Message)
                    else str(inner or "").encode("utf-8", "replace")
                )
            parsed.attachments.append(
                AttachmentPart(filename=_filename(part), content_type=content_type, payload=payload)
            )
    text = "\n\n".join(part.strip() for part in text_parts if part.strip())
    html = "\n".join(html_parts)
    if html:
        parsed.html = html_sanitise(html)
    if not text and html:
        text = html_to_text(html)
    parsed.text_full = text[:TEXT_MAX]
    parsed.text = reply_split(parsed.text_full)[:TEXT_MAX]


def _read_delivery_status(part: Message, parsed: Parsed) -> None:
    """The failed recipients of a DSN (RFC 3464): `Final-Recipient: rfc822; who@where` of
    every recipient whose `Action` is failed."""
    raw = part.get_payload()
    blocks: list[str] = []
    if isinstance(raw, list):
        blocks = [str(block) for block in raw]
    else:
        payload = part.get_payload(decode=True)
        blocks = [(payload or b"").decode("utf-8", "replace") if payload else str(raw or "")]
    for block in blocks:
        for recipient in re.split(r"\n\s*\n", block):
            fields = dict(
                (key.strip().lower(), value.strip())
                for key, _, value in (
                    line.partition(":") for line in recipient.splitlines() if ":" in line
                )
            )
            action = fields.get("action", "failed").lower()
            final = fields.get("final-recipient") or fields.get("original-recipient", "")
            address = final.partition(";")[2].strip().lower() or final.strip().lower()
            if action == "failed" and "@" in address and address not in parsed.bounced:
                parsed.bounced.append(address)
                parsed.bounce_reason = (
                    fields.get("diagnostic-code") or fields.get("status") or "delivery failed"
                )[:500]


def _read_bounced_headers(part: Message, parsed: Parsed) -> None:
    """The Message-ID of the message that bounced, from the report's copy of it."""
    inner = part.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        message_id = inner[0].get("Message-ID", "")
    else:
        payload = part.get_payload(decode=True) or str(inner or "").encode()
        found = re.search(rb"(?im)^message-id:\s*(<[^>]+>)", payload)
        message_id = found.group(1).decode("utf-8", "replace") if found else ""
    parsed.bounced_message_ids.extend(_ids(str(message_id)))


def _kind(message: Message, parsed: Parsed, problems: list[str]) -> str:
    """Delivery reports, automatic replies and list traffic are recorded and never answered
    automatically (RFC 3834 Auto-Submitted, Precedence, RFC 2369 List-*, an empty
    Return-Path, RFC 3464 reports, the X-Autoreply family, daemon senders)."""
    content_type = message.get_content_type()
    report_type = str(message.get_param("report-type", "") or "").lower()
    if content_type == "multipart/report" and "delivery-status" in report_type:
        return "bounce"
    if DAEMON_SENDERS.match(parsed.from_address):
        return "bounce"
    auto_submitted = _header(message, "Auto-Submitted", problems).lower()
    precedence = _header(message, "Precedence", problems).lower()
    if auto_submitted and auto_submitted != "no":
        return "auto_reply"
    if any(
        _header(message, name, problems)
        for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
    ) or precedence in {"auto_reply", "auto-reply"}:
        return "auto_reply"
    if _header(message, "X-Auto-Response-Suppress", problems).lower() in {"all", "oof"} and (
        _header(message, "X-MS-Exchange-Inbox-Rules-Loop", problems)
    ):
        return "auto_reply"
    if precedence in {"bulk", "list", "junk"} or _header(message, "List-Id", problems):
        return "list"
    if _header(message, "List-Unsubscribe", problems):
        return "list"
    return_path = _header(message, "Return-Path", problems)
    if return_path.replace(" ", "") == "<>":
        return "auto_reply"
    return "regular"


def _date(message: Message, problems: list[str]) -> datetime | None:
    value = _header(message, "Date", problems)
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.append("Date header could not be read")
        return None
    if parsed.tzinfo is None:
        return None  # a date without a zone cannot be placed in time
    return parsed


def _without_nul(parsed: Parsed) -> Parsed:
    """PostgreSQL text holds no NUL character; a message may."""
    for name in ("from_name", "subject", "text", "text_full", "html", "bounce_reason"):
        setattr(parsed, name, getattr(parsed, name).replace("\x00", ""))
    parsed.problems = [problem.replace("\x00", "") for problem in parsed.problems]
    return parsed


def parse(raw: bytes) -> Parsed:
    """Everything the channel keeps of one message, read from its bytes."""
    return _without_nul(_parse(raw))


def _parse(raw: bytes) -> Parsed:
    problems: list[str] = []
    try:
        message = message_from_bytes(raw, policy=policy.default)
    except Exception as error:  # the parser is lenient; this is the last resort
        problems.append(f"the message could not be parsed ({type(error).__name__})")
        message = EmailMessage()
        message.set_content(raw.decode("utf-8", "replace"))
    defects = getattr(message, "defects", [])
    if defects:
        problems.append(f"{len(defects)} structural defect(s): {type(defects[0]).__name__}")
    raw_id = _header(message, "Message-ID", problems)
    ids = _ids(raw_id)
    key = ids[0] if ids else "sha256:" + hashlib.sha256(raw).hexdigest()
    parsed = Parsed(message_id=key)
    parsed.problems = problems
    from_name, from_address = parseaddr(_header(message, "From", problems))
    parsed.from_address = from_address.strip().lower()[:254]
    parsed.from_name = from_name.strip()[:200]
    if "@" not in parsed.from_address:
        if parsed.from_address or from_name:
            problems.append("the From header holds no address")
        parsed.from_address = ""
    parsed.to = _addresses(_all_headers(message, "To", problems))
    parsed.cc = _addresses(_all_headers(message, "Cc", problems))
    delivered = _addresses(
        [
            *_all_headers(message, "Delivered-To", problems),
            *_all_headers(message, "X-Original-To", problems),
            *_all_headers(message, "Envelope-To", problems),
        ]
    )
    parsed.recipients = list(dict.fromkeys([*parsed.to, *parsed.cc, *delivered]))
    parsed.subject = _header(message, "Subject", problems)
    parsed.in_reply_to = _ids(_header(message, "In-Reply-To", problems))
    parsed.references = _ids(" ".join(_all_headers(message, "References", problems)))
    parsed.date = _date(message, problems)
    parsed.kind = _kind(message, parsed, problems)
    _read_body(message, parsed)
    return parsed
