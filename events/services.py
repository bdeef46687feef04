"""Publishing and relaying events: the outbox (docs/architecture.md, "The event seam")."""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.statements import row_insert
from core.tasks import RETRY_BACKOFF_MAX, RETRY_MAX

from .models import Event
from .names import EventName
from .registry import subscribers_of

logger = logging.getLogger(__name__)

# An event relayed in place normally has no subscriber left within milliseconds of its
# commit; one still waiting after this long was not relayed (its process died, the database
# went away after the commit) and the sweeper relays it.
RELAY_GRACE = timedelta(seconds=30)


def event_publish(
    name: EventName,
    *,
    customer_id: int | None = None,
    payload: dict | None = None,
    subject: dict | None = None,
) -> Event:
    """Write the event with the change, run its in-transaction subscribers, and relay it to
    the others once the transaction commits. Must be called inside the change's transaction:
    an event written on its own could tell of a change that was then rolled back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"publish {name} inside the transaction of the change it tells of")
    relayed = bool(subscribers_of(str(name), in_transaction=False))
    now = timezone.now()
    event = Event(
        name=name,
        customer_id=customer_id,
        payload=payload or {},
        occurred_at=now,
        # Nobody listens after the commit: the row stays as the record of what happened.
        relayed_at=None if relayed else now,
    )
    row_insert(event)  # every change publishes: the INSERT compiled once (core.statements)
    event.subject = subject or {}  # type: ignore[attr-defined]  # for in-transaction subscribers
    for subscriber in subscribers_of(str(name), in_transaction=True):
        subscriber.handle(event)
    if relayed:
        transaction.on_commit(lambda: _relay_after_commit(event))
    return event


def _relay_after_commit(event: Event) -> None:
    """In the process that committed, right away (no broker hop: a recompute request lands as
    fast as before the seam). Nothing here may fail the request that already committed."""
    try:
        _relay(event)
    except Exception:
        logger.exception("could not relay event %s; the sweeper will", event.pk)


def _retry_delay(attempts: int) -> timedelta:
    # The task retry policy's exponential backoff and cap (core.tasks), in whole seconds.
    return timedelta(seconds=min(2**attempts, RETRY_BACKOFF_MAX))


def _relay(event: Event) -> bool:
    handled = list(event.handled)
    error: BaseException | None = None
    for subscriber in subscribers_of(event.name, in_transaction=False):
        if subscriber.key in handled:
            continue
        try:
            with transaction.atomic():
                subscriber.handle(event)
        except Exception as failure:  # one subscriber's failure must not stop the others
            logger.exception(
                "%s failed on event %s (%s)",
                subscriber.key,
                event.pk,
                event.name,
                extra={"event_id": event.pk, "customer_id": event.customer_id},
            )
            error = failure
        else:
            handled.append(subscriber.key)
    now = timezone.now()
    if error is None:
        Event.objects.filter(pk=event.pk).update(
            relayed_at=now, handled=handled, next_attempt_at=None
        )
        return True
    attempts = event.attempts + 1
    if attempts >= RETRY_MAX:
        logger.error(
            "event %s (%s) failed for good after %d attempts", event.pk, event.name, attempts
        )
    Event.objects.filter(pk=event.pk).update(
        handled=handled,
        attempts=attempts,
        # None after the last attempt: it waits for an admin's "relay again".
        next_attempt_at=now + _retry_delay(attempts) if attempts < RETRY_MAX else None,
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    return False


def events_relay_pending(*, limit: int = 1000) -> int:
    """The sweeper: relay the events whose relay in place did not happen or failed. Each is
    claimed with SKIP LOCKED, so two sweepers never relay the same event at once."""
    now = timezone.now()
    relayed = 0
    waiting = (
        Event.objects.filter(relayed_at__isnull=True, occurred_at__lt=now - RELAY_GRACE)
        .filter(attempts__lt=RETRY_MAX)
        .exclude(next_attempt_at__gt=now)
        .order_by("occurred_at")
    )
    ids = list(waiting.values_list("pk", flat=True)[:limit])
    for start in range(0, len(ids), 100):
        with transaction.atomic():
            claimed = list(
                Event.objects.select_for_update(skip_locked=True)
                .filter(pk__in=ids[start : start + 100], relayed_at__isnull=True)
                .order_by("pk")
            )
            relayed += sum(_relay(event) for event in claimed)
    if ids:
        logger.warning("relayed %d of %d waiting events", relayed, len(ids))
    return relayed


def events_relay_again(*, event_ids: Iterable[int]) -> int:
    """An admin's "relay again" for events that failed for good (the cause is fixed)."""
    return Event.objects.filter(pk__in=list(event_ids), relayed_at__isnull=True).update(
        attempts=0, next_attempt_at=None
    )
