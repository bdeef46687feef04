"""`Idempotency-Key` on every POST of the API (as Stripe does): a client that retries after a
timeout gets the first answer again instead of a second write.

- The key is the client's (any printable text up to 255 characters), scoped to the
  authenticated user: two users never see each other's keys or answers.
- The same key with the same request (method, path, query and body, hashed) answers the
  stored first answer, status and body, with `Idempotent-Replayed: true`; nothing runs again.
- The same key with another request answers 409 naming the header (409 rather than the IETF
  draft's 422: the batch endpoints answer 422 for a refused all-or-nothing batch).
- Concurrency: the key is claimed with an INSERT in the transaction that then runs the view,
  and the answer is stored in that same transaction. A second request with the same key waits
  on the unique index until the first commits, then replays its answer (or, if the first
  failed and rolled back, runs itself). It waits at most WAIT; after that it answers 409.
  Claim, write and stored answer commit together: a process killed midway leaves nothing,
  never a key claimed without its answer.
- Stored: answers below 500 (a 400 is an answer too), except 409 and 429, which say "try
  again". A 5xx rolls the whole request back and stores nothing, so a retry runs afresh.
- Keys expire after TTL (24 hours): then the key may be used for a new request.

Anonymous requests and requests that fail authentication pass through untouched (the view
answers 401/403 as without a key). Only /api/ is covered: the HTML forms have CSRF tokens.
"""

import hashlib
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.settings import api_settings

from .models import KEY_MAX_LENGTH, IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = timedelta(hours=24)
# How long a request waits for another one holding the same key.
WAIT = "30s"
NOT_STORED = {409, 429}

KEY_INVALID = f"An {HEADER} is 1 to {KEY_MAX_LENGTH} printable characters."
KEY_REUSED = (
    f"This {HEADER} was used for a different request; "
    "send a new key for a new request (keys are kept for 24 hours)."
)
KEY_BUSY = f"A request with this {HEADER} is still being processed; retry later."


def _api_user(request: HttpRequest):
    """The user the API would authenticate (session or token), or None."""
    drf_request = Request(
        request, authenticators=[auth() for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    )
    try:
        user = drf_request.user
    except Exception:  # refused credentials, a CSRF failure: the view answers as without a key
        return None
    return user if user is not None and user.is_authenticated else None


def _request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode())
        digest.update(b"\0")
    try:
        digest.update(request.body)
    except RawPostDataException:
        # A form or upload already parsed (core.middleware reads form parameters first):
        # its fields and files stand for the body.
        for name, values in sorted(request.POST.lists()):
            digest.update(repr((name, values)).encode())
        for name, upload in sorted(request.FILES.items()):
            digest.update(repr((name, upload.name, upload.size)).encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def _replay(stored: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(stored.body), status=stored.status, content_type=stored.content_type or None
    )
    response[REPLAYED_HEADER] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
            return JsonResponse({HEADER: [KEY_INVALID]}, status=400)
        user = _api_user(request)
        if user is None:
            return self.get_response(request)
        digest = _request_hash(request)
        try:
            return self._once(request, user, key, digest)
        except DatabaseError as error:
            cause = error.__cause__
            # lock_not_available: another request held the key for longer than WAIT.
            if getattr(cause, "sqlstate", getattr(cause, "pgcode", None)) == "55P03":
                return JsonResponse({HEADER: [KEY_BUSY]}, status=409)
            raise

    def _once(self, request, user, key: str, digest: str) -> HttpResponse:
        now = timezone.now()
        table = IdempotencyKey._meta.db_table
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{WAIT}'")
                cursor.execute(
                    f"DELETE FROM {table} WHERE user_id = %s AND key = %s AND expires_at <= %s",
                    [user.pk, key, now],
                )
                # Waits while another transaction holds the same (user, key), uncommitted.
                cursor.execute(
                    f"""INSERT INTO {table}
                        (user_id, key, request_hash, status, content_type, body,
                         created_at, expires_at)
                    VALUES (%s, %s, %s, 0, '', ''::bytea, %s, %s)
                    ON CONFLICT (user_id, key) DO NOTHING RETURNING id""",
                    [user.pk, key, digest, now, now + TTL],
                )
                claimed = cursor.fetchone()
                cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
            if claimed is None:
                stored = IdempotencyKey.objects.get(user_id=user.pk, key=key)
                if stored.request_hash != digest:
                    return JsonResponse({HEADER: [KEY_REUSED]}, status=409)
                return _replay(stored)
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # nothing of a failed request stays
                return response
            if response.status_code in NOT_STORED or response.streaming:
                IdempotencyKey.objects.filter(pk=claimed[0]).delete()  # "try again": not kept
                return response
            IdempotencyKey.objects.filter(pk=claimed[0]).update(
                status=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=response.content,
            )
        return response
