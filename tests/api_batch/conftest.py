import pytest
from rest_framework.test import APIClient

import valuation.tasks
from valuation.tasks import customer_figures_recompute_task


@pytest.fixture
def recomputes(monkeypatch):
    """The customer ids whose recompute was sent (one by one or as a group), in order."""
    sent: list[int] = []
    monkeypatch.setattr(
        customer_figures_recompute_task,
        "apply_async",
        lambda args, **options: sent.append(args[0]),
    )

    def group_on_commit(task, args_list):
        from django.db import transaction

        # A group's task takes one customer or a chunk of them (customers_figures_request).
        transaction.on_commit(
            lambda: sent.extend(
                id
                for args in args_list
                for id in (args[0] if isinstance(args[0], list) else [args[0]])
            )
        )

    monkeypatch.setattr(valuation.tasks, "enqueue_group_on_commit", group_on_commit)
    return sent


class _CommittingClient(APIClient):
    """Each request's after-commit callbacks run as they would after a real commit (the
    test's transaction never commits)."""

    capture = None

    def generic(self, *args, **kwargs):
        with self.capture(execute=True):
            return super().generic(*args, **kwargs)


@pytest.fixture
def api(django_capture_on_commit_callbacks):
    def as_user(user):
        client = _CommittingClient()
        client.capture = django_capture_on_commit_callbacks
        client.force_authenticate(user)
        return client

    return as_user
