"""Webhooks: endpoints, their deliveries (the webhooks' outbox) and sending them
(docs/webhooks.md).

A delivery row is written in the transaction of the event it carries (webhooks.handlers), so
it exists exactly when the change committed; a task sends it after the commit and the
sweeper (`webhooks_deliver_due`, celery beat) sends what is due again: retries, and sends
lost with the broker or a worker.
"""

import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from customers.models import Customer
from events.models import Event

from . import guard, sending, signing
from .models import RESPONSE_EXCERPT_MAX, Delivery, DeliveryStatus, Endpoint
from .names import SOURCE, WebhookEvent

logger = logging.getLogger(__name__)


# --- endpoints ------------------------------------------------------------------------------


def _events_clean(events) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise ValidationError({"events": "Name at least one event."})
    unknown = sorted({str(e) for e in events} - set(WebhookEvent.values))
    if unknown:
        raise ValidationError(
            {
                "events": f"Unknown events: {', '.join(unknown)}; choose from "
                f"{', '.join(WebhookEvent.values)}."
            }
        )
    return sorted({str(e) for e in events})


def endpoint_url_check(url: str) -> None:
    """The SSRF rule on a URL, as a ValidationError on `url` (forms show it before saving)."""
    try:
        guard.url_check(url)
    except guard.TargetRefused as refused:
        raise ValidationError({"url": f"Refused: {refused}."}) from refused


@transaction.atomic
def endpoint_create(*, url: str, events: Iterable[str], description: str = "") -> Endpoint:
    """A new endpoint with a fresh secret (shown to the admin once, in the reply)."""
    endpoint = Endpoint(
        url=url,
        events=_events_clean(list(events)),
        description=description,
        secret=signing.secret_new(),
    )
    endpoint.full_clean()
    endpoint_url_check(url)
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: Endpoint, data: dict) -> Endpoint:
    """Change url, events, description or active. Activating a disabled endpoint clears its
    failure record; its pending deliveries are then sent by the sweeper."""
    unknown = set(data) - {"url", "events", "description", "active"}
    if unknown:
        raise TypeError(f"endpoint_update() got unknown fields: {sorted(unknown)}")
    if "events" in data:
        data = {**data, "events": _events_clean(data["events"])}
    for field, value in data.items():
        setattr(endpoint, field, value)
    endpoint.full_clean()
    if "url" in data:
        endpoint_url_check(endpoint.url)
    if data.get("active") and endpoint.disabled_at is not None:
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        endpoint.failure_count = 0
        endpoint.failing_since = None
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


def endpoints_disabled_count() -> int:
    return Endpoint.objects.filter(disabled_at__isnull=False).count()


# --- deliveries: written with the event -----------------------------------------------------


def _envelope_id(event: Event) -> str:
    return f"evt_{event.pk}"


def _data_of(event: Event, public: str) -> dict | None:
    """The data of a public event, built in the event's transaction (None: nothing to say)."""
    payload = dict(event.payload or {})
    if public == WebhookEvent.INTERACTION_CREATED:
        interaction = (getattr(event, "subject", None) or {}).get("interaction")
        data = {"customer_id": event.customer_id, **payload}
        if interaction is not None:
            data["occurred_at"] = interaction.occurred_at.isoformat()
            data["subject"] = interaction.subject
        return data
    if public in (WebhookEvent.CUSTOMER_CREATED, WebhookEvent.CUSTOMER_UPDATED):
        return {"customer_id": event.customer_id, **payload, "customer": _customer(event)}
    if public == WebhookEvent.CUSTOMER_FIGURES_CHANGED:
        if payload.get("customer_ids") is None:
            # Every customer's figures were rebuilt: too many to list; read them again.
            return {"all_customers": True, "customers": []}
        changes = payload.get("changes") or {}
        if not changes:
            return None  # nothing watched moved
        return {
            "all_customers": False,
            "customers": [
                {"customer_id": int(pk), "changes": moved} for pk, moved in changes.items()
            ],
        }
    return {"customer_id": event.customer_id, **payload} if event.customer_id else payload


def _customer(event: Event) -> dict | None:
    """The profile as it is in this transaction (no money: the wallet stays in the CRM)."""
    if event.customer_id is None:
        return None
    row = (
        Customer.objects.filter(pk=event.customer_id)
        .values("id", "kind", "name", "email", "phone", "external_ref", "status", "owner_id")
        .first()
    )
    return dict(row) if row else None


_ACTIVE_ENDPOINTS_SQL = f"SELECT id, events FROM {Endpoint._meta.db_table} WHERE active"


def deliveries_create(*, event: Event, send: Callable[[int, int], None]) -> int:
    """The deliveries of one domain event to the active endpoints that want it, in the
    event's transaction (an in-transaction subscriber); `send(delivery_id, claim)` queues
    each one's task after the commit. Returns how many.

    One query when no endpoint wants it (the endpoints are few: read them all, filtered
    here, which also works on SQLite's JSON), its SQL written once: it runs on every
    interaction POST (issue 17)."""
    public = SOURCE.get(event.name)
    if public is None:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_ENDPOINTS_SQL)
        rows = cursor.fetchall()
    wanted = [
        pk
        for pk, events in rows
        # Both databases hand the JSON column over as text here (no ORM converter).
        if public in (json.loads(events) if isinstance(events, str) else events or ())
    ]
    if not wanted:
        return 0
    data = _data_of(event, public)
    if data is None:
        return 0
    event_id = _envelope_id(event)
    envelope = {
        "id": event_id,
        "type": str(public),
        "created": event.occurred_at.isoformat(),
        "data": data,
    }
    body = json.dumps(envelope, separators=(",", ":"), default=str)
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)
    created = Delivery.objects.bulk_create(
        [
            # Claimed at once for the task sent after the commit; the lease covers a lost one.
            Delivery(
                endpoint_id=pk,
                event_id=event_id,
                event_type=public,
                body=body,
                claim=1,
                lease_until=lease,
                next_attempt_at=now,
                created_at=now,
            )
            for pk in wanted
        ]
    )
    for delivery in created:
        send(delivery.pk, 1)
    return len(created)


# --- sending --------------------------------------------------------------------------------


def _due(now) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__active=True) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def deliveries_claim_due(*, limit: int = 500) -> list[tuple[int, int]]:
    """The sweeper: claim the deliveries whose time has come (retries, and those whose task
    was lost: their lease ran out), with SKIP LOCKED so that two sweepers never claim the
    same one. Returns (delivery id, claim) pairs for the tasks to send."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_due(now))
            .order_by("next_attempt_at")
            .values_list("pk", "claim")[:limit]
        )
        if due:
            Delivery.objects.filter(pk__in=[pk for pk, _ in due]).update(
                claim=F("claim") + 1, lease_until=lease
            )
    return [(pk, claim + 1) for pk, claim in due]


def _retry_delay(attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt; None: that was the last one."""
    delays = settings.WEBHOOKS_RETRY_DELAYS
    if attempts > len(delays):
        return None
    return timedelta(seconds=delays[attempts - 1])


def delivery_send(
    *, delivery_id: int, claim: int, post: Callable[..., sending.Outcome] = sending.post
) -> str:
    """Send one claimed delivery and record the outcome. Idempotent: a claim that is no
    longer the current one (the sweeper claimed it again, it was delivered) sends nothing.
    Returns the delivery's status afterwards ("" when there was nothing to do)."""
    current = Delivery.objects.filter(pk=delivery_id, claim=claim, status=DeliveryStatus.PENDING)
    # Sending now: the lease shrinks from the time a queued task may wait to the time a send
    # may take, so a worker killed mid-request is replaced soon.
    send_lease = timezone.now() + timedelta(seconds=settings.WEBHOOKS_SEND_LEASE_SECONDS)
    if not current.update(lease_until=send_lease):
        return ""
    delivery = current.select_related("endpoint").first()
    if delivery is None or not delivery.endpoint.active:
        return ""
    endpoint = delivery.endpoint
    body = delivery.body.encode()
    timestamp = int(time.time())
    started = timezone.now()
    outcome = post(
        endpoint.url,
        body,
        {
            "X-CRM-Signature": signing.signature_header(endpoint.secret, timestamp, body),
            "X-CRM-Event": delivery.event_type,
            "X-CRM-Delivery": str(delivery.pk),
        },
    )
    return _outcome_record(delivery, claim, outcome, started)


@transaction.atomic
def _outcome_record(delivery: Delivery, claim: int, outcome: sending.Outcome, started) -> str:
    now = timezone.now()
    attempts = delivery.attempts + 1
    fields: dict = {
        "attempts": attempts,
        "last_attempt_at": started,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error[:500],
        "response_excerpt": outcome.excerpt[:RESPONSE_EXCERPT_MAX],
        "lease_until": None,
    }
    if outcome.delivered:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
    else:
        delay = _retry_delay(attempts)
        if delay is None:
            fields["status"] = DeliveryStatus.FAILED
        else:
            fields["next_attempt_at"] = now + delay
    # Only the current claim records (a late, superseded task writes nothing).
    if not Delivery.objects.filter(
        pk=delivery.pk, claim=claim, status=DeliveryStatus.PENDING
    ).update(**fields):
        return ""
    if outcome.delivered:
        # No lock on the endpoint's row on success: concurrent sends to it do not queue here.
        Endpoint.objects.filter(
            Q(failure_count__gt=0) | Q(failing_since__isnull=False), pk=delivery.endpoint_id
        ).update(failure_count=0, failing_since=None)
    else:
        endpoint = Endpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        _endpoint_failure(endpoint, now, given_up=fields.get("status") == DeliveryStatus.FAILED)
    status = fields.get("status", DeliveryStatus.PENDING)
    log = logger.info if outcome.delivered else logger.warning
    log(
        "webhook delivery %s to endpoint %s: %s (attempt %d) %s",
        delivery.pk,
        delivery.endpoint_id,
        status,
        attempts,
        outcome.error,
    )
    return str(status)


def _endpoint_failure(endpoint: Endpoint, now, *, given_up: bool) -> None:
    failing_since = endpoint.failing_since or now
    failures = endpoint.failure_count + (1 if given_up else 0)
    reason = ""
    if failures >= settings.WEBHOOKS_DISABLE_AFTER_FAILURES:
        reason = f"{failures} deliveries in a row failed after their last attempt"
    elif now - failing_since >= timedelta(seconds=settings.WEBHOOKS_DISABLE_AFTER_SECONDS):
        reason = f"no delivery succeeded since {failing_since:%Y-%m-%d %H:%M} UTC"
    fields: dict = {"failure_count": failures, "failing_since": failing_since}
    if reason and endpoint.active:
        fields.update(active=False, disabled_at=now, disabled_reason=reason[:300])
        # The admins' notice: the endpoint list and every webhooks admin page show it.
        logger.error("webhook endpoint %s (%s) disabled: %s", endpoint.pk, endpoint.url, reason)
    Endpoint.objects.filter(pk=endpoint.pk).update(**fields)


@transaction.atomic
def deliveries_resend(*, delivery_ids: Iterable[int]) -> list[tuple[int, int]]:
    """An admin's "resend": the deliveries (delivered, failed or pending) go out again with
    the same body and event id, now. Returns the (id, claim) pairs sent to the tasks."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)
    rows = list(
        Delivery.objects.select_for_update()
        .filter(pk__in=list(delivery_ids))
        .order_by("pk")
        .values_list("pk", "claim")
    )
    Delivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        attempts=0,
        claim=F("claim") + 1,
        lease_until=lease,
    )
    return [(pk, claim + 1) for pk, claim in rows]
