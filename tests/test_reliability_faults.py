"""Nothing confirmed is lost: the broker down at save time, a worker killed mid-task, a task that
fails and is retried. Real Redis (our own, on a free port, stopped and started), a real worker
process (killed with SIGKILL), the real web app under gunicorn, the real sweeper.

Each test ends by comparing the figures with a from-scratch rebuild of the customer's history.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from interactions.models import Interaction
from valuation.models import CustomerFigures

from .factories import CustomerFactory, OfferingFactory
from .faults import (
    assert_same_figures,
    figures_from_scratch,
    figures_of,
    is_current,
    redis_server,
    run_sweeper,
    web_app,
    worker,
)
from .worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Faults make the worker wait for a visibility timeout or a reconnect: give it time.
CATCH_UP = 90.0


def order(customer, offering, *, days_ago: int, quantity: str = "2") -> dict:
    return {
        "customer": customer.pk,
        "channel": "web",
        "direction": "inbound",
        "type": "order",
        "subject": f"Order {days_ago} days ago",
        "occurred_at": (timezone.now() - timedelta(days=days_ago)).isoformat(),
        "lines": [
            {
                "offering": offering.pk,
                "quantity": quantity,
                "unit_price": "24.00",
                "discount": "0.1",
                "unit_cost": "11.50",
            }
        ],
    }


def log_confirmed(web, token, payloads) -> list[int]:
    """POST each interaction; every one must be confirmed with 201. Returns their ids."""
    ids = []
    for payload in payloads:
        status, body = web.request("POST", "/api/interactions/", token=token, body=payload)
        assert status == 201, body
        ids.append(body["id"])
    return ids


def overdue(customer) -> None:
    """Let the sweeper's grace period pass (it re-sends recomputes missing for 30 s)."""
    CustomerFigures.objects.filter(pk=customer.pk).update(
        figures_requested_at=timezone.now() - timedelta(minutes=5)
    )


def assert_nothing_lost(customer, confirmed_ids) -> None:
    assert set(Interaction.objects.filter(pk__in=confirmed_ids).values_list("pk", flat=True)) == (
        set(confirmed_ids)
    )
    assert is_current(customer.pk)
    computed = figures_of(customer.pk)
    assert computed["interaction_count"] == len(confirmed_ids)
    assert_same_figures(computed, figures_from_scratch(customer.pk))


@pytest.fixture
def setting(alice):
    customer = CustomerFactory(owner=alice)
    offering = OfferingFactory()
    token = Token.objects.create(user=alice).key
    return customer, offering, token


def test_it_loses_nothing_when_the_broker_is_down_at_save_time(setting):
    customer, offering, token = setting
    with redis_server() as redis, web_app(redis.url) as web, worker(redis.url):
        confirmed = log_confirmed(web, token, [order(customer, offering, days_ago=90)])
        wait_for(lambda: is_current(customer.pk), timeout=CATCH_UP)

        # The broker goes away; people keep logging interactions and each is confirmed.
        redis.stop()
        confirmed += log_confirmed(
            web, token, [order(customer, offering, days_ago=d) for d in (60, 30, 2)]
        )
        assert not is_current(customer.pk)
        assert figures_of(customer.pk)["interaction_count"] == 1

        # The broker comes back; the lost recompute is sent again, by whichever comes first:
        # the worker's listener, which sends every stale customer's recompute once it can
        # again (valuation.wakeup), or the sweeper's next beat (then it finds this one).
        redis.start()
        overdue(customer)
        assert run_sweeper(redis.url) in (0, 1)
        wait_for(lambda: is_current(customer.pk), timeout=CATCH_UP)

    assert_nothing_lost(customer, confirmed)


def test_it_redelivers_the_task_of_a_worker_killed_mid_task(setting, tmp_path):
    customer, offering, token = setting
    marker = tmp_path / "stalled-task-id"
    # A message no worker acknowledged goes back to the queue after 5 s instead of an hour.
    short_visibility = {"CELERY_VISIBILITY_TIMEOUT": "5"}
    with redis_server() as redis, web_app(redis.url) as web:
        stalling = {"CRM_FAULT_STALL_MARKER": str(marker), **short_visibility}
        with worker(redis.url, app_module="tests.fault_worker", env=stalling) as doomed:
            confirmed = log_confirmed(web, token, [order(customer, offering, days_ago=40)])
            task_id = wait_for(lambda: marker.exists() and marker.read_text())
            doomed.kill()  # SIGKILL while the recompute is running: no ack was sent

        assert not is_current(customer.pk)
        # A fresh worker gets the very same task again (no sweeper involved).
        with worker(redis.url, env=short_visibility) as rescuer:
            wait_for(
                lambda: is_current(customer.pk) and f"[{task_id}] succeeded" in rescuer.log(),
                timeout=CATCH_UP,
            )

    assert_nothing_lost(customer, confirmed)


def test_it_retries_a_transient_failure_with_backoff_and_then_succeeds(setting):
    customer, offering, token = setting
    flaky = {"CRM_FAULT_FAIL_TIMES": "2", "CRM_FAULT_MAX_RETRIES": "3"}
    with (
        redis_server() as redis,
        web_app(redis.url) as web,
        worker(redis.url, app_module="tests.fault_worker", env=flaky) as flaky_worker,
    ):
        confirmed = log_confirmed(web, token, [order(customer, offering, days_ago=10)])
        wait_for(lambda: is_current(customer.pk), timeout=CATCH_UP)
        log = flaky_worker.log()

    assert log.count("injected fault: the database connection was lost") >= 2
    assert log.count("Retry in ") == 2
    assert "failed for good" not in log
    assert_nothing_lost(customer, confirmed)


def test_it_shows_a_recompute_that_keeps_failing_and_recovers_it_later(setting, ada):
    customer, offering, token = setting
    broken = {"CRM_FAULT_FAIL_TIMES": "1000", "CRM_FAULT_MAX_RETRIES": "2"}
    with redis_server() as redis, web_app(redis.url) as web:
        with worker(redis.url, app_module="tests.fault_worker", env=broken) as broken_worker:
            confirmed = log_confirmed(web, token, [order(customer, offering, days_ago=10)])
            wait_for(lambda: "failed for good" in broken_worker.log(), timeout=CATCH_UP)
            log = broken_worker.log()

        # The cap held (two retries, then a visible failure naming the customer and the task).
        assert log.count("Retry in ") == 2
        failure = next(line for line in log.splitlines() if "failed for good" in line)
        assert f"customer={customer.pk}]" in failure
        assert "task=-" not in failure
        assert not is_current(customer.pk)
        # The admin sees it among the customers with stale figures.
        admin = Client()
        admin.force_login(ada)
        stale_list = admin.get("/admin/customers/customer/", {"figures": "stale"})
        assert customer.name in stale_list.content.decode()

        # Once the cause is gone, a healthy worker brings the figures back: as it becomes the
        # listener it sends every stale customer's recompute (valuation.wakeup), and the
        # sweeper's next beat would (tests/test_worker_integration.py).
        with worker(redis.url):
            wait_for(lambda: is_current(customer.pk), timeout=CATCH_UP)

    assert_nothing_lost(customer, confirmed)
