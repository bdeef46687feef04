"""Building RFC 5322 messages for the email channel's tests, as mail clients write them."""

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone


def message(
    *,
    sender: str = "Anna Keller <anna@example.net>",
    to: str = "support@firm.example",
    subject: str = "Where is my order?",
    body: str = "Hello, my order has not arrived.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    cc: str | None = None,
    html: str | None = None,
    headers: dict | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    if cc:
        mail["Cc"] = cc
    mail["Subject"] = subject
    mail["Date"] = format_datetime(timezone.now())
    mail["Message-ID"] = message_id or make_msgid(domain="client.example")
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    for filename, content_type, payload in attachments:
        maintype, _, subtype = content_type.partition("/")
        mail.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return mail


def raw(**kwargs) -> bytes:
    return bytes(message(**kwargs))


def dsn(*, failed: str, original_message_id: str, reporter: str = "mx.client.example") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one."""
    boundary = "dsn-boundary"
    return (
        f"From: MAILER-DAEMON@{reporter} (Mail Delivery System)\r\n"
        "To: support@firm.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn.{abs(hash(failed))}@{reporter}>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; {reporter}\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@firm.example\r\nTo: {failed}\r\n"
        f"Message-ID: <{original_message_id}>\r\nSubject: Re: Your order\r\n"
        f"--{boundary}--\r\n"
    ).encode()
