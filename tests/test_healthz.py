"""/healthz tells which of database, broker and worker is missing."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from crm.celery import app
from valuation.models import CustomerFigures

from .factories import CustomerFactory
from .worker import celery_worker

pytestmark = pytest.mark.django_db


def test_it_reports_a_missing_worker(client):
    # No worker consumes from the test broker outside the worker tests.
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"
    assert body["checks"]["worker"].startswith("error:")


def test_it_reports_an_unreachable_broker(client, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["broker"].startswith("error:")
    assert body["checks"]["database"] == "ok"


def test_it_answers_without_signing_in(client):
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_it_shows_figures_lagging_for_more_than_a_minute(client, alice):
    # Given one customer whose recompute has waited 2 minutes and one waiting 5 seconds
    now = timezone.now()
    waiting_long, waiting_briefly = CustomerFactory(owner=alice), CustomerFactory(owner=alice)
    for customer, waited in ((waiting_long, 120), (waiting_briefly, 5)):
        CustomerFigures.objects.filter(pk=customer.pk).update(
            figures_version=F("figures_computed_version") + 1,
            figures_requested_at=now - timedelta(seconds=waited),
        )

    # When health is asked
    body = client.get("/healthz").json()

    # Then the long wait counts as lagging (threshold: one minute) and its age is shown
    assert body["lag_threshold_seconds"] == 60
    assert body["lagging_figures"] == 1
    assert body["oldest_pending_recompute_seconds"] >= 120


@pytest.mark.worker
def test_it_answers_at_the_first_pong_of_a_live_worker(client):
    # Given a worker consuming from the test broker
    with celery_worker():
        # When health is asked
        response = client.get("/healthz")

    # Then every check passes
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "worker": "ok"}
