import pytest
from rest_framework.test import APIClient


@pytest.fixture
def recomputes(woken):
    """The customer ids whose recompute was woken after each commit, in order."""
    return woken


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
