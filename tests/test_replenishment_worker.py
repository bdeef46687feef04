"""The replenishment run with real parts: the database schedule, celery beat and workers.

The schedule lives in django-celery-beat's tables (editable in the admin). A real beat
process with the DatabaseScheduler fires the run every second, two worker processes run it
at the same time, and still each due date becomes exactly one interaction.
"""

import os
import re
import sys
from contextlib import ExitStack, contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from crm.celery import app
from devtools import processes
from interactions.models import Interaction
from replenishment import services
from replenishment.models import ReplenishmentDelivery
from replenishment.schedule import REPLENISHMENT_TASK, REPLENISHMENT_TASK_NAME

from .factories import CustomerFactory, OfferingFactory
from .worker import ARTIFACTS, celery_worker, wait_for, worker_database_url


@pytest.mark.django_db
def test_it_keeps_the_schedule_in_the_database_with_the_replenishment_run_after_migrate():
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"
    run = PeriodicTask.objects.get(name=REPLENISHMENT_TASK_NAME)
    assert (run.task, run.enabled) == (REPLENISHMENT_TASK, True)
    assert (run.interval.every, run.interval.period) == (1, IntervalSchedule.HOURS)


@pytest.mark.django_db(transaction=True)  # the scheduler closes old connections
def test_the_database_scheduler_also_runs_the_entries_from_settings():
    scheduler = DatabaseScheduler(app=app)

    assert {"recompute-stale-customers", REPLENISHMENT_TASK_NAME} <= set(scheduler.schedule)
    stale = PeriodicTask.objects.get(name="recompute-stale-customers")
    assert stale.task == "valuation.tasks.customers_figures_recompute_stale"


@contextmanager
def celery_beat(*, env: dict):
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "beat-replenishment.log"
    with processes.running(
        "beat",
        [sys.executable, "-m", "celery", "-A", "crm", "beat", "--loglevel", "INFO"],
        env=env,
        log_path=log_path,
    ):
        yield log_path


def runs_finished(workers) -> int:
    pattern = re.compile(rf"Task {re.escape(REPLENISHMENT_TASK)}\[[^\]]+\] succeeded")
    return sum(len(pattern.findall(worker.log())) for worker in workers)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_beat_and_two_workers_deliver_each_due_date_once(alice):
    today = timezone.localdate()
    customer = CustomerFactory(owner=alice)
    for n in range(4):
        services.replenishment_subscribe(
            customer=customer,
            offering=OfferingFactory(name=f"Beans {n}"),
            next_due=today - timedelta(days=7),
            interval_days=7,
            mode="auto_order" if n % 2 else "reminder",
        )
    # The admin makes the run fire every second (the entry is editable like any other).
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.filter(name=REPLENISHMENT_TASK_NAME).update(interval=every_second)
    app.control.purge()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DATABASE_URL": worker_database_url()}
    env.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.test")

    with ExitStack() as stack:
        workers = [
            stack.enter_context(celery_worker(env={"DATABASE_URL": worker_database_url()}))
            for _ in range(2)
        ]
        stack.enter_context(celery_beat(env=env))
        # Each due date (a week ago and today) of the four subscriptions, delivered ...
        wait_for(lambda: ReplenishmentDelivery.objects.count() == 8, timeout=60)
        # ... and the run repeated several more times, on both workers.
        wait_for(lambda: runs_finished(workers) >= 4, timeout=60)

    assert ReplenishmentDelivery.objects.count() == 8
    assert Interaction.objects.filter(customer=customer, type="order").count() == 4
    assert Interaction.objects.filter(customer=customer, type="outreach").count() == 4
    assert set(ReplenishmentDelivery.objects.values_list("due_on", flat=True)) == {
        today - timedelta(days=7),
        today,
    }
