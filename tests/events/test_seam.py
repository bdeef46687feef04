"""The event seam: the outbox is written with the change, relayed after the commit, and a
failing subscriber is retried without running again those that succeeded."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from events import registry
from events.models import Event
from events.names import EventName
from events.services import RELAY_GRACE, event_publish, events_relay_pending
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(monkeypatch):
    """Only this test's subscribers listen (the apps' own are set aside)."""
    monkeypatch.setattr(registry, "_subscribers", registry.defaultdict(list))
    calls: list[tuple[str, int]] = []
    return calls


def _listen(calls, name, *, fail=lambda: False, in_transaction=False):
    def handle(event):
        calls.append((name, event.pk))
        if fail():
            raise RuntimeError(f"{name} is broken")

    handle.__qualname__ = name
    registry.subscribe(EventName.CUSTOMER_CREATED, in_transaction=in_transaction)(handle)


@pytest.mark.django_db(transaction=True)
def test_publishing_outside_the_change_transaction_is_refused(heard):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_publish(EventName.CUSTOMER_CREATED, customer_id=1)


def test_the_event_is_rolled_back_with_the_change(heard):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        event_publish(EventName.CUSTOMER_CREATED, customer_id=1)
        raise ZeroDivisionError
    assert not Event.objects.exists()


def test_after_commit_subscribers_run_only_after_the_commit(
    heard, django_capture_on_commit_callbacks
):
    _listen(heard, "webhook")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = event_publish(EventName.CUSTOMER_CREATED, customer_id=7, payload={"a": 1})
        assert heard == []
    assert heard == [("webhook", event.pk)]
    event.refresh_from_db()
    assert event.relayed_at is not None and event.payload == {"a": 1}
    assert event.handled == [f"{__name__}.webhook"]


def test_an_in_transaction_subscriber_that_fails_undoes_the_change(heard):
    _listen(heard, "fold", fail=lambda: True, in_transaction=True)
    with pytest.raises(RuntimeError, match="fold is broken"), transaction.atomic():
        CustomerFactory(name="Gone")
        event_publish(EventName.CUSTOMER_CREATED, customer_id=1)
    assert not Event.objects.exists()


def test_a_failing_subscriber_is_retried_alone_by_the_sweeper(
    heard, django_capture_on_commit_callbacks
):
    broken = {"now": True}
    _listen(heard, "email")
    _listen(heard, "webhook", fail=lambda: broken["now"])
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = event_publish(EventName.CUSTOMER_CREATED, customer_id=7)
    event.refresh_from_db()
    assert event.relayed_at is None and event.attempts == 1
    assert event.handled == [f"{__name__}.email"]
    assert "webhook is broken" in event.last_error
    assert event.next_attempt_at > timezone.now()

    # Not yet due: the sweeper leaves it alone.
    Event.objects.filter(pk=event.pk).update(occurred_at=timezone.now() - 2 * RELAY_GRACE)
    assert events_relay_pending() == 0

    broken["now"] = False
    Event.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    heard.clear()
    assert events_relay_pending() == 1
    assert heard == [("webhook", event.pk)]  # email is not told twice
    event.refresh_from_db()
    assert event.relayed_at is not None
    assert event.handled == [f"{__name__}.email", f"{__name__}.webhook"]


def test_the_sweeper_relays_an_event_whose_relay_was_lost(heard):
    _listen(heard, "webhook")
    with transaction.atomic():  # its commit callbacks are never run: the process "died"
        event = event_publish(EventName.CUSTOMER_CREATED, customer_id=7)
    assert events_relay_pending() == 0  # still within the grace of a relay in place
    Event.objects.filter(pk=event.pk).update(occurred_at=timezone.now() - 2 * RELAY_GRACE)
    assert events_relay_pending() == 1
    assert heard == [("webhook", event.pk)]
    assert events_relay_pending() == 0


def test_an_event_nobody_listens_to_is_kept_as_relayed(heard):
    with transaction.atomic():
        event = event_publish(EventName.IMPORT_FINISHED, payload={"job_id": 3})
    event.refresh_from_db()
    assert event.relayed_at is not None


def test_the_apps_subscribe_the_recompute_and_the_summary_to_a_logged_interaction():
    keys = [s.key for s in registry.subscribers_of("interaction.logged", in_transaction=True)]
    assert "valuation.handlers.interaction_fold" in keys
    assert "valuation.handlers.figures_request" in keys
