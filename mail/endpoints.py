"""`POST /api/mail/inbound/`: a raw MIME message from a mail provider's inbound webhook (or
any system that can POST a message), into the same service as IMAP and the pipe.

The body is the message itself (`Content-Type: message/rfc822` or
`application/octet-stream`); a form post may carry it in `body-mime` (Mailgun's MIME route)
or `email` (SendGrid's Inbound Parse with "POST the raw, full MIME message"), within Django's
DATA_UPLOAD_MAX_MEMORY_SIZE. Authenticated by `Authorization: Bearer MAIL_INBOUND_TOKEN` (or
HTTP Basic with that token as password, for providers that take only a URL) or, for a raw
post, by `X-CRM-Signature: t=<unix time>,v1=<hex HMAC-SHA256(MAIL_INBOUND_SECRET,
"<t>.<body>")>` (five minutes of clock skew allowed).

Answers: 201 stored, 200 stored before (a provider's retry is harmless), 400 not a message,
401 not authenticated, 404 the endpoint is not enabled, 413 too large, 429 too many, 503 try
again later (the database away) with Retry-After."""

import base64
import hashlib
import hmac
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.ratelimit import client_address, rate_limit_hit

from .inbound import MessageTooLarge, mail_receive
from .models import Via

RAW_TYPES = {"message/rfc822", "application/octet-stream", "text/plain"}
FORM_FIELDS = ("body-mime", "email", "raw")
SIGNATURE_SKEW = 300


def _error(status: int, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"detail": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _signature_valid(header: str, body: bytes) -> bool:
    parts = dict(part.strip().partition("=")[::2] for part in header.split(","))
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_SKEW:
        return False
    expected = hmac.new(
        settings.MAIL_INBOUND_SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return constant_time_compare(expected, signature)


def _token_given(request) -> str:
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return ""
    return ""


def _authenticated(request, body: bytes | None) -> bool:
    token = settings.MAIL_INBOUND_TOKEN
    if token and constant_time_compare(_token_given(request), token):
        return True
    signature = request.META.get("HTTP_X_CRM_SIGNATURE", "")
    if body is None or not (settings.MAIL_INBOUND_SECRET and signature):
        return False
    return _signature_valid(signature, body)


@csrf_exempt
@require_POST
def mail_inbound(request):
    if not (settings.MAIL_INBOUND_TOKEN or settings.MAIL_INBOUND_SECRET):
        return _error(404, "The inbound mail endpoint is not enabled (MAIL_INBOUND_TOKEN).")
    limit = settings.MAIL_MESSAGE_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "Content-Length is not a number.")
    # A form post carries the message in a field, a little larger than the message itself.
    if length > limit * 1.4 + 65536:
        return _error(413, f"At most {limit:,} bytes of message are accepted.")
    if rate_limit_hit(
        scope="mail-inbound", ident=client_address(request), rate=settings.MAIL_INBOUND_RATE
    ):
        return _error(429, "Too many messages; try again later.", Retry_After="60")
    if request.content_type in RAW_TYPES:
        raw = request.read(int(limit * 1.4) + 65537)
        if not _authenticated(request, raw):
            return _error(401, "Not authenticated: send the inbound token or a valid signature.")
    elif request.content_type in {"multipart/form-data", "application/x-www-form-urlencoded"}:
        # A provider's form post (parsed by Django already; the signature covers raw posts
        # only, a form post authenticates by the token).
        if not _authenticated(request, None):
            return _error(401, "Not authenticated: send the inbound token.")
        try:
            found = _from_form(request)
        except RequestDataTooBig:
            return _error(413, "A message this large must be sent raw (message/rfc822).")
        if found is None:
            return _error(400, f"The form carries no message (fields {', '.join(FORM_FIELDS)}).")
        raw = found
    else:
        if not _authenticated(request, None):
            return _error(401, "Not authenticated: send the inbound token.")
        return _error(400, f"Send the message as message/rfc822, not {request.content_type}.")
    if not raw.strip():
        return _error(400, "The body holds no message.")
    try:
        received = mail_receive(raw, via=Via.HTTP)
    except MessageTooLarge as error:
        return _error(413, str(error))
    except DatabaseError:
        return _error(503, "Not ready to store messages; try again later.", Retry_After="30")
    message = received.message
    return JsonResponse(
        {
            "message": message.pk,
            "interaction": message.interaction_id,
            "customer": message.interaction.customer_id if message.interaction else None,
            "kind": message.kind,
            "created": received.created,
        },
        status=201 if received.created else 200,
    )


def _from_form(request) -> bytes | None:
    """The message in a provider's form post: a file or a field of one of FORM_FIELDS."""
    for name in FORM_FIELDS:
        if name in request.FILES:
            return request.FILES[name].read()
        if request.POST.get(name):
            return request.POST[name].encode("utf-8", "surrogateescape")
    return None
