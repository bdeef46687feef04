"""/healthz tells which of database, broker and worker is missing."""

import pytest

from crm.celery import app

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
