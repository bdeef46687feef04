"""The first recompute: interaction count and last contact, written by the worker's service."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers import services
from customers.models import Customer
from customers.selectors import customers_with_stale_figures
from interactions.services import interaction_log

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def test_it_counts_interactions_and_finds_the_last_contact():
    customer = CustomerFactory()
    latest = timezone.now() - timedelta(days=2)
    InteractionFactory(customer=customer, occurred_at=latest - timedelta(days=30))
    InteractionFactory(customer=customer, occurred_at=latest)
    InteractionFactory()  # someone else's

    assert services.customer_figures_recompute(customer_id=customer.pk)

    customer.refresh_from_db()
    assert customer.interaction_count == 2
    assert customer.last_contact_at == latest
    assert customer.metrics_computed_at is not None


def test_it_is_idempotent_and_uses_a_fixed_number_of_queries(django_assert_num_queries):
    customer = CustomerFactory()
    for days in range(20):
        InteractionFactory(customer=customer, occurred_at=timezone.now() - timedelta(days=days))

    with django_assert_num_queries(3):
        services.customer_figures_recompute(customer_id=customer.pk)
    first = Customer.objects.values("interaction_count", "last_contact_at").get(pk=customer.pk)
    services.customer_figures_recompute(customer_id=customer.pk)
    again = Customer.objects.values("interaction_count", "last_contact_at").get(pk=customer.pk)

    assert first == again == {"interaction_count": 20, "last_contact_at": first["last_contact_at"]}


def test_it_never_lets_an_older_recompute_overwrite_a_newer_one():
    customer = CustomerFactory()
    InteractionFactory(customer=customer)
    Customer.objects.filter(pk=customer.pk).update(figures_version=5, figures_computed_version=7)

    assert services.customer_figures_recompute(customer_id=customer.pk) is False
    customer.refresh_from_db()
    assert customer.interaction_count == 0


def test_it_ignores_a_customer_that_no_longer_exists():
    assert services.customer_figures_recompute(customer_id=987654) is False


def test_it_recomputes_everyone_in_one_statement(django_assert_num_queries):
    busy, quiet = CustomerFactory(), CustomerFactory()
    for _ in range(3):
        InteractionFactory(customer=busy)

    with django_assert_num_queries(1):
        services.customers_figures_recompute_bulk()

    busy.refresh_from_db()
    quiet.refresh_from_db()
    assert (busy.interaction_count, quiet.interaction_count) == (3, 0)
    assert quiet.last_contact_at is None


def test_it_marks_the_figures_stale_until_they_are_recomputed(
    alice, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(owner=alice)
    with django_capture_on_commit_callbacks(execute=False):
        interaction_log(
            customer=customer,
            logged_by=alice,
            channel="phone",
            direction="inbound",
            type="inquiry",
            subject="Where is my order?",
        )
    customer.refresh_from_db()
    assert customer.figures_stale

    # A recompute that never arrived is found once it is overdue.
    assert not customers_with_stale_figures(older_than=timedelta(minutes=1)).exists()
    Customer.objects.filter(pk=customer.pk).update(
        figures_requested_at=timezone.now() - timedelta(minutes=5)
    )
    assert list(customers_with_stale_figures(older_than=timedelta(minutes=1))) == [customer]

    services.customer_figures_recompute(customer_id=customer.pk)
    customer.refresh_from_db()
    assert not customer.figures_stale
    assert not customers_with_stale_figures(older_than=timedelta(minutes=1)).exists()
