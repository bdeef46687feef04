"""Webhooks through real parts: PostgreSQL, Redis, a Celery worker process and an HTTP
receiver on 127.0.0.1. Events reach the receiver after their commit; a receiver that is down
for a while, or a worker killed in the middle of a delivery, loses nothing."""

import json
import threading

import pytest
from django.conf import settings as django_settings

from crm.celery import app
from customers.services import customer_create
from webhooks.models import Delivery
from webhooks.tasks import webhooks_deliver_due

from ..factories import OfferingFactory
from ..faults import worker
from ..valuation.history import log_order
from ..worker import wait_for
from .helpers import documented_verify, endpoint_for
from .receiver import Receiver

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FAST = {
    "WEBHOOKS_ALLOW_PRIVATE": "true",
    "WEBHOOKS_RETRY_DELAYS": "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
    # A message no worker acknowledged goes back to the queue after 5 s instead of an hour.
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "WEBHOOKS_SEND_LEASE_SECONDS": "3",
}


@pytest.fixture
def setting(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_LEASE_SECONDS = 3
    app.control.purge()
    return settings


@pytest.fixture
def receiver(setting):
    server = Receiver().start()
    yield server
    server.stop()


def sweep_until(predicate, *, timeout: float = 60.0):
    """Run the sweeper as celery beat would (here every half second) until predicate()."""

    def swept():
        webhooks_deliver_due()
        return predicate()

    return wait_for(swept, timeout=timeout, interval=0.5)


def delivered(count: int) -> bool:
    return Delivery.objects.filter(status="delivered").count() == count


def test_it_delivers_a_customer_an_interaction_and_their_figures_through_a_worker(receiver, alice):
    endpoint = endpoint_for(
        receiver, "customer.created", "interaction.created", "customer.figures_changed"
    )
    with worker(django_settings.CELERY_BROKER_URL, env=FAST):
        customer = customer_create(name="Mia Wong", owner=alice)
        log_order(customer, OfferingFactory(), days_ago=20, quantity="3")

        # The recompute runs on the worker; its figures.changed becomes a delivery there. A
        # recompute of the new customer that runs before the order commits tells of the tier
        # "new" first: one or two figures changes, the last one the order's.
        def bought():
            changes = [
                json.loads(r.body)["data"]["customers"][0]
                for r in receiver.of_type("customer.figures_changed")
            ]
            # A buyer's tier: no longer "new" (a customer without a purchase).
            return [
                c for c in changes if c["changes"].get("tier", {}).get("after") not in (None, "new")
            ]

        (changed,) = wait_for(bought, timeout=60)

    types = {r.headers["X-CRM-Event"] for r in receiver.requests}
    assert types == {"customer.created", "customer.figures_changed", "interaction.created"}
    assert len(receiver.of_type("customer.created")) == 1
    assert len(receiver.of_type("interaction.created")) == 1
    verify = documented_verify()
    for request in receiver.requests:
        assert verify(endpoint.secret, request.headers["X-CRM-Signature"], request.body)
    assert changed["customer_id"] == customer.pk
    assert delivered(len(receiver.requests))


def test_it_loses_nothing_while_the_receiver_is_down(setting, alice):
    receiver = Receiver()  # not started: connections are refused
    endpoint_for(receiver, "customer.created")
    with worker(django_settings.CELERY_BROKER_URL, env=FAST):
        for n in range(10):
            customer_create(name=f"Customer {n}", owner=alice)
        wait_for(lambda: Delivery.objects.filter(attempts__gte=1).count() == 10, timeout=60)
        assert not Delivery.objects.filter(status="delivered").exists()
        receiver.start()
        try:
            sweep_until(lambda: delivered(10))
        finally:
            receiver.stop()

    ids = {json.loads(r.body)["id"] for r in receiver.requests}
    assert len(ids) == 10
    assert all(d.attempts >= 2 for d in Delivery.objects.all())


def test_it_delivers_after_a_worker_is_killed_mid_delivery(receiver, alice):
    endpoint_for(receiver, "customer.created")
    receiver.hang = threading.Event()
    receiver.hang.set()  # the receiver holds the request: the worker waits for its answer
    with worker(django_settings.CELERY_BROKER_URL, env=FAST) as doomed:
        customer_create(name="Mia Wong", owner=alice)
        wait_for(lambda: len(receiver.requests) == 1, timeout=60)
        doomed.kill()  # SIGKILL while the POST is in flight: nothing recorded, no ack
    receiver.hang.clear()
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 0

    with worker(django_settings.CELERY_BROKER_URL, env=FAST):
        sweep_until(lambda: delivered(1))

    # At least once: the receiver saw the same event id again and can deduplicate on it.
    ids = [json.loads(r.body)["id"] for r in receiver.requests]
    assert len(ids) >= 2 and len(set(ids)) == 1
