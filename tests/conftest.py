"""Shared fixtures. The named users follow healthchecks' alice/bob/charlie convention:

- alice and bob are customer managers, each with their own portfolio,
- charlie is support staff, ada is an admin.
"""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.roles import Role, role_groups_sync
from customers.facts import fact_vocabulary_defaults_ensure

from .browser import browser, orm_beside_playwright, page  # noqa: F401 - fixtures
from .factories import CustomerFactory, UserFactory


@pytest.fixture
def roles(db):
    # Transactional tests flush every table, the role groups included: make sure they exist.
    role_groups_sync(group_model=Group, permission_model=Permission)
    # So are rows that data migrations created, like the starting fact vocabulary.
    fact_vocabulary_defaults_ensure()


@pytest.fixture
def ada(roles):
    return UserFactory(username="ada", role=Role.ADMIN)


@pytest.fixture
def alice(roles):
    return UserFactory(username="alice", first_name="Alice", role=Role.MANAGER)


@pytest.fixture
def bob(roles):
    return UserFactory(username="bob", first_name="Bob", role=Role.MANAGER)


@pytest.fixture
def charlie(roles):
    return UserFactory(username="charlie", first_name="Charlie", role=Role.SUPPORT)


@pytest.fixture
def alices_customer(alice):
    return CustomerFactory(name="Anna Keller", owner=alice, email="anna@example.net")


@pytest.fixture
def bobs_customer(bob):
    return CustomerFactory(name="Bruno Rossi", owner=bob, email="bruno@example.net")


@pytest.fixture
def woken(monkeypatch):
    """The customer ids whose recompute each commit woke, in order.

    PostgreSQL delivers the stale mark's NOTIFY to the worker at commit (valuation.wakeup):
    here, where the test's transaction never commits, the ids are recorded when its
    after-commit callbacks run. tests/valuation/test_wakeup.py checks the real delivery."""
    from django.db import transaction

    import valuation.services

    sent: list[int] = []
    real = valuation.services.customers_figures_request

    def recording(*, customer_ids):
        real(customer_ids=customer_ids)
        ids = sorted(set(customer_ids))
        if ids:
            transaction.on_commit(lambda: sent.extend(ids))

    monkeypatch.setattr(valuation.services, "customers_figures_request", recording)
    return sent
