"""Issue 14, item 8: Redis dropping while the worker holds unacknowledged tasks.

A real redis-server (our own, on a free port) is killed with SIGKILL while a real prefork
worker holds two recomputes it has not acknowledged (made slow by a test-only fault hook) and
polls the broker for more. The worker must stay up and reconnect when Redis returns, and the
figures must converge to a from-scratch recompute. /healthz must show the lag within a minute.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from valuation.models import CustomerFigures

from ..factories import CustomerFactory, OfferingFactory
from ..faults import (
    assert_same_figures,
    figures_from_scratch,
    figures_of,
    is_current,
    redis_server,
    run_sweeper,
    web_app,
    worker,
)
from ..test_reliability_faults import CATCH_UP, log_confirmed, order
from ..worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Two slow recomputes held by a worker with room for a third: its task channel has a BRPOP
# in flight when the broker vanishes, the case that killed the worker (crm/kombu_compat.py).
SLOW = {"CRM_FAULT_SLOW_SECONDS": "6", "CELERY_VISIBILITY_TIMEOUT": "5"}


def test_it_survives_redis_killed_while_it_holds_unacknowledged_tasks(alice):
    offering = OfferingFactory()
    token = Token.objects.create(user=alice).key
    customers = [CustomerFactory(owner=alice) for _ in range(2)]
    with (
        redis_server() as redis,
        web_app(redis.url) as web,
        worker(redis.url, app_module="tests.fault_worker", env=SLOW, concurrency=3) as survivor,
    ):
        # Given a worker holding two unacknowledged recomputes
        confirmed = {
            customer.pk: log_confirmed(web, token, [order(customer, offering, days_ago=20)])
            for customer in customers
        }
        wait_for(lambda: survivor.log().count("customer_figures_recompute_task[") >= 2)

        # When Redis is killed and, a little later, comes back empty
        redis.kill()
        wait_for(lambda: "Connection to broker lost" in survivor.log(), timeout=CATCH_UP)
        redis.start()

        # Then the worker is still running and reconnects
        wait_for(lambda: survivor.log().count("Connected to redis://") >= 2, timeout=CATCH_UP)
        assert survivor.is_alive(), survivor.log()
        assert "Unrecoverable error" not in survivor.log()

        # And the sweeper's next beat brings every figure up to date
        CustomerFigures.objects.filter(pk__in=confirmed).update(
            figures_requested_at=timezone.now() - timedelta(minutes=5)
        )
        run_sweeper(redis.url)
        wait_for(lambda: all(is_current(pk) for pk in confirmed), timeout=CATCH_UP)
        assert survivor.is_alive(), survivor.log()

    for pk, ids in confirmed.items():
        computed = figures_of(pk)
        assert computed["interaction_count"] == len(ids)
        assert_same_figures(computed, figures_from_scratch(pk))
