"""The nightly co-occurrence refresh runs in a real Celery worker and is idempotent."""

import pytest

from workspace.models import OfferingAffinity
from workspace.tasks import offering_affinities_refresh

from .factories import CustomerFactory, OfferingFactory
from .worker import celery_worker, wait_for, worker_database_url
from .workspace_helpers import order

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_refreshes_the_co_occurrence_in_a_worker_and_twice_is_harmless(roles):
    # Given two customers who hold beans and filters, one who holds beans only
    beans, filters = OfferingFactory(name="Beans"), OfferingFactory(name="Filters")
    for held in [(beans, filters), (beans, filters), (beans,)]:
        order(CustomerFactory(), *held)

    def pairs():
        return sorted(
            OfferingAffinity.objects.values_list(
                "offering__name", "other__name", "customers_both", "holders"
            )
        )

    # When the worker runs the task twice
    with celery_worker(env={"DATABASE_URL": worker_database_url()}):
        offering_affinities_refresh.delay()
        wait_for(lambda: len(pairs()) == 2)
        first, first_run = pairs(), OfferingAffinity.objects.first().computed_at
        offering_affinities_refresh.delay()
        wait_for(lambda: OfferingAffinity.objects.filter(computed_at__gt=first_run).count() == 2)

    # Then both directions are counted once, the same each time
    assert first == pairs() == [("Beans", "Filters", 2, 3), ("Filters", "Beans", 2, 2)]
