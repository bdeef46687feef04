"""Many interactions for one customer at once, from several web processes: the figures end equal
to a from-scratch recompute, and a burst coalesces into few recomputes that write.

The web app runs under gunicorn with three worker processes; eight client threads post at once.
"""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.authtoken.models import Token

from .factories import CustomerFactory, OfferingFactory
from .faults import (
    assert_same_figures,
    figures_from_scratch,
    figures_of,
    is_current,
    redis_server,
    web_app,
    worker,
)
from .test_reliability_faults import order
from .worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RECOMPUTE_DONE = re.compile(
    r"customer_figures_recompute_task\[[^\]]+\] succeeded in [\d.]+s: (True|False)"
)


def post_at_once(web, token, payloads) -> list[int]:
    def post(payload):
        return web.request("POST", "/api/interactions/", token=token, body=payload)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(post, payloads))
    assert [status for status, _ in results] == [201] * len(payloads), results
    return [body["id"] for _, body in results]


def recomputes(log: str) -> list[bool]:
    """What each finished recompute returned: True if it wrote, False if a newer one had."""
    return [outcome == "True" for outcome in RECOMPUTE_DONE.findall(log)]


@pytest.fixture
def setting(alice):
    customer = CustomerFactory(owner=alice)
    offering = OfferingFactory()
    token = Token.objects.create(user=alice).key
    return customer, offering, token


def test_it_keeps_the_figures_consistent_under_concurrent_logging(setting):
    customer, offering, token = setting
    payloads = [order(customer, offering, days_ago=day, quantity="1") for day in range(1, 33)]
    with (
        redis_server() as redis,
        web_app(redis.url, workers=3) as web,
        worker(redis.url) as running,
    ):
        confirmed = post_at_once(web, token, payloads)
        wait_for(
            lambda: is_current(customer.pk) and figures_of(customer.pk)["interaction_count"] == 32,
            timeout=120,
        )
        done = recomputes(running.log())

    computed = figures_of(customer.pk)
    assert len(set(confirmed)) == 32
    assert computed["interaction_count"] == 32
    assert_same_figures(computed, figures_from_scratch(customer.pk))
    # Commits close together wake one recompute (valuation.wakeup gathers them): at most one
    # per interaction, and the ones that found their version already computed wrote nothing.
    assert 1 <= done.count(True) <= len(done) <= 32
    print(f"concurrent burst: 32 interactions, {done.count(True)} recomputes wrote")


def test_it_coalesces_a_burst_into_one_recompute_that_writes(setting):
    customer, offering, token = setting
    payloads = [order(customer, offering, days_ago=day) for day in range(1, 21)]
    with redis_server() as redis, web_app(redis.url, workers=3) as web:
        # The burst lands while no worker runs: twenty stale marks, and nothing in the queue.
        post_at_once(web, token, payloads)
        assert not is_current(customer.pk)
        with worker(redis.url) as running:
            # The worker that becomes the listener sends the stale customer's recompute once.
            wait_for(lambda: is_current(customer.pk), timeout=120)
            done = recomputes(running.log())

    assert done == [True]
    assert is_current(customer.pk)
    assert_same_figures(figures_of(customer.pk), figures_from_scratch(customer.pk))
