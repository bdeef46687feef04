"""The request wakes the worker through PostgreSQL, not the broker (valuation.wakeup).

Marking figures stale NOTIFYs the customers' ids; PostgreSQL delivers them at commit and never
for a rollback. Here a real second connection LISTENs, as the worker's listener does.
"""

import select
import time

import psycopg2
import psycopg2.extensions
import pytest
from django.db import connection, transaction

from interactions.services import interaction_log
from valuation import wakeup
from valuation.services import FIGURES_STALE_CHANNEL, WAKE_IDS
from valuation.tasks import customer_figures_recompute_task, customers_figures_request

from ..factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listening():
    listener = psycopg2.connect(**connection.get_connection_params())
    listener.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    with listener.cursor() as cursor:
        cursor.execute(f"LISTEN {FIGURES_STALE_CHANNEL}")
    yield listener
    listener.close()


def heard(listener, wait: float = 0.5) -> list[int]:
    ids: list[int] = []
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        if select.select([listener], [], [], left)[0]:
            listener.poll()
            while listener.notifies:
                ids += [int(x) for x in listener.notifies.pop(0).payload.split(",")]
    return ids


def log(customer, user):
    return interaction_log(
        customer=customer,
        logged_by=user,
        channel="email",
        direction="inbound",
        type="inquiry",
        subject="Opening hours?",
    )


def test_a_commit_wakes_the_worker_with_the_customer_and_sends_nothing_to_the_broker(
    alice, listening, monkeypatch
):
    def no_broker(*args, **kwargs):
        raise AssertionError("the request sent a task to the broker")

    monkeypatch.setattr(customer_figures_recompute_task, "apply_async", no_broker)
    customer = CustomerFactory(owner=alice)
    heard(listening, wait=0.1)  # the customer's creation
    with transaction.atomic():
        log(customer, alice)
        assert heard(listening, wait=0.2) == []  # nothing before the commit
    assert heard(listening) == [customer.pk]


def test_a_rollback_wakes_nobody(alice, listening):
    customer = CustomerFactory(owner=alice)
    heard(listening, wait=0.1)
    with pytest.raises(RuntimeError), transaction.atomic():
        log(customer, alice)
        raise RuntimeError("the request failed after the write")
    assert heard(listening) == []


def test_a_large_batch_is_told_in_notifications_that_fit(alice, listening):
    customers = CustomerFactory.create_batch(WAKE_IDS + 5, owner=alice)
    heard(listening, wait=0.2)
    with transaction.atomic():
        customers_figures_request(customer_ids=[c.pk for c in customers])
    assert sorted(heard(listening, wait=1.0)) == sorted(c.pk for c in customers)


def test_the_listener_sends_one_task_for_one_customer_and_chunks_for_many(monkeypatch):
    sent = []
    monkeypatch.setattr(
        customer_figures_recompute_task,
        "apply_async",
        lambda args, **options: sent.append(("one", args)),
    )
    monkeypatch.setattr(
        wakeup.customers_figures_recompute_task,
        "apply_async",
        lambda args, **options: sent.append(("many", len(args[0]))),
    )
    wakeup.figures_recompute_send([7])
    wakeup.figures_recompute_send(list(range(1, 251)))
    assert sent == [("one", (7,)), ("many", 100), ("many", 100), ("many", 50)]
