"""The nightly refit on real workers: PostgreSQL, Redis and `celery worker` processes.

The beat's task refits the models on a worker, which draws the tier thresholds over the whole
base and recomputes everyone in one pass (PostgreSQL, the default) or sends the recompute as a
Celery group of range tasks (ranges of customer ids) that the workers share
(NIGHTLY_IN_RANGES). Every customer ends with exactly the figures that one call over the whole
base gives, also when a range meets a transient database error or is lost on the way.
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from kombu.exceptions import OperationalError

from core import dispatch
from crm.celery import app
from customers.models import Customer
from valuation import selectors, tasks
from valuation.models import FitStatus, ModelFit, ValuationSettings
from valuation.tasks import customers_figures_recompute_stale, valuation_nightly_refit

from .faults import worker as fault_worker
from .nightly import (
    FIT_VALUES,
    figures_of_everyone,
    forget_figures,
    one_shot_reference,
    snapshots_of_everyone,
)
from .valuation.history import generated_base
from .worker import celery_worker, wait_for, worker_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CHUNK = 17  # 120 customers: 8 ranges
CHUNK_DONE = re.compile(
    r"valuation\.tasks\.customers_figures_recompute_range_task\[[^\]]+\] succeeded"
)


@pytest.fixture
def base():
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 20})
    return generated_base(customers=120, seed=5)


@pytest.fixture
def reference(base):
    """The one-call figures, then every customer's figures forgotten."""
    fit, figures, snapshots = one_shot_reference()
    forget_figures()
    app.control.purge()  # nothing left over in the test queue
    return fit, figures, snapshots


def everyone_recomputed() -> bool:
    return not Customer.objects.filter(figures__computed_at__isnull=True).exists()


def test_it_recomputes_the_base_in_chunks_on_workers_as_one_call_would(reference):
    reference_fit, reference_figures, reference_snapshots = reference
    env = {
        "DATABASE_URL": worker_database_url(),
        "RECOMPUTE_RANGE_SIZE": str(CHUNK),
        "NIGHTLY_IN_RANGES": "1",
    }
    with celery_worker(env=env) as first, celery_worker(env=env) as second:
        # What celery beat sends at night.
        valuation_nightly_refit.delay()
        wait_for(everyone_recomputed, timeout=90, interval=0.2)
        logs = first.log() + second.log()

    fit = selectors.latest_fit()
    assert ModelFit.objects.filter(status=FitStatus.DONE).count() == 2
    assert ModelFit.objects.values(*FIT_VALUES).get(pk=fit.pk) == reference_fit
    assert figures_of_everyone() == reference_figures
    assert snapshots_of_everyone() == reference_snapshots
    assert len(CHUNK_DONE.findall(logs)) == len(selectors.customer_id_ranges(size=CHUNK)) == 8


def test_the_nightly_refit_recomputes_the_base_in_one_pass_by_default(reference):
    reference_fit, reference_figures, reference_snapshots = reference
    with celery_worker(env={"DATABASE_URL": worker_database_url()}) as worker:
        valuation_nightly_refit.delay()
        wait_for(everyone_recomputed, timeout=90, interval=0.2)
        logs = worker.log()

    fit = selectors.latest_fit()
    assert ModelFit.objects.values(*FIT_VALUES).get(pk=fit.pk) == reference_fit
    assert figures_of_everyone() == reference_figures
    assert snapshots_of_everyone() == reference_snapshots
    assert not CHUNK_DONE.findall(logs)


def test_it_retries_a_chunk_that_met_a_transient_database_error(reference):
    _, reference_figures, _ = reference
    flaky = {"CRM_FAULT_CHUNK_FAIL_TIMES": "2"}
    with fault_worker(
        settings.CELERY_BROKER_URL, app_module="tests.fault_worker", env=flaky
    ) as flaky_worker:
        tasks.customers_figures_recompute_spread(selectors.latest_fit())
        wait_for(everyone_recomputed, timeout=90, interval=0.2)
        log = flaky_worker.log()

    assert log.count("injected fault: the database connection was lost") == 2
    assert log.count("Retry in ") == 2
    assert figures_of_everyone() == reference_figures


def test_it_recovers_the_customers_of_a_lost_chunk_with_the_sweeper(reference, monkeypatch):
    _, reference_figures, _ = reference
    fit = selectors.latest_fit()

    # The broker is unreachable when the refit sends its group: nothing is recomputed.
    class BrokerDown:
        def __init__(self, *tasks):
            pass

        def apply_async(self, **options):
            raise OperationalError("broker unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(dispatch, "group", BrokerDown)
        tasks.customers_figures_recompute_spread(fit)
    assert not Customer.objects.filter(figures__computed_at__isnull=False).exists()

    # Past the allowance, the sweeper marks the customers stale and sends them one by one.
    ModelFit.objects.filter(pk=fit.pk).update(fitted_at=fit.fitted_at - timedelta(minutes=11))
    with celery_worker(env={"DATABASE_URL": worker_database_url()}):
        assert customers_figures_recompute_stale() == 120
        wait_for(everyone_recomputed, timeout=90, interval=0.2)

    assert figures_of_everyone() == reference_figures
