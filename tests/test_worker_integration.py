"""The learning loop's first turn with real parts: PostgreSQL, Redis and a Celery worker process.

An interaction logged through the service is committed, its recompute is sent to Redis after
the commit, and a separate worker process updates the customer's figures.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from crm.celery import app
from customers.models import Customer
from customers.tasks import customers_recompute_stale
from interactions.services import interaction_log

from .factories import CustomerFactory
from .worker import celery_worker, wait_for, worker_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    # Tasks left in the test queue by earlier runs would only add noise.
    app.control.purge()
    with celery_worker(env={"DATABASE_URL": worker_database_url()}) as node:
        yield node


def figures(customer):
    return Customer.objects.values_list("interaction_count", "last_contact_at").get(pk=customer.pk)


def test_it_updates_the_figures_in_a_worker_after_an_interaction_is_logged(alice, worker):
    customer = CustomerFactory(owner=alice)
    assert figures(customer) == (0, None)

    when = timezone.now() - timedelta(hours=1)
    interaction_log(
        customer=customer,
        logged_by=alice,
        channel="phone",
        direction="inbound",
        type="inquiry",
        subject="Do you deliver on Saturdays?",
        occurred_at=when,
    )

    wait_for(lambda: figures(customer) == (1, when))
    customer.refresh_from_db()
    assert not customer.figures_stale


def test_it_coalesces_a_burst_into_the_right_final_figures(alice, worker):
    customer = CustomerFactory(owner=alice)
    for n in range(10):
        interaction_log(
            customer=customer,
            logged_by=alice,
            channel="email",
            direction="inbound",
            type="feedback",
            subject=f"Note {n}",
        )

    # A recompute that read version 9 may already count the 10th interaction (committed between
    # its two reads); the 10th recompute then catches the version up. Wait for both.
    wait_for(
        lambda: (
            figures(customer)[0] == 10 and not Customer.objects.get(pk=customer.pk).figures_stale
        )
    )


def test_it_recovers_a_recompute_whose_task_was_lost(alice, worker):
    customer = CustomerFactory(owner=alice)
    # Simulate a save while the broker was unreachable: the data committed, no task was sent.
    Customer.objects.filter(pk=customer.pk).update(
        figures_version=1, figures_requested_at=timezone.now() - timedelta(minutes=5)
    )
    interaction = customer.interactions.create(
        channel="web", direction="inbound", type="inquiry", subject="Lost in the post?"
    )

    assert customers_recompute_stale() == 1

    wait_for(lambda: figures(customer) == (1, interaction.occurred_at))


def test_it_reports_the_worker_healthy_on_healthz(worker):
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"
    assert body["checks"]["worker"].startswith("ok")
