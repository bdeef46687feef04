"""Hardening: brute-force lockout (django-axes), API throttling, the content security policy,
production cookies and HSTS, structured logs."""

import json
import logging

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.throttling import UserRateThrottle

from core.logs import ContextFilter, JsonFormatter, log_context

from .factories import PASSWORD
from .test_settings import run_manage

pytestmark = pytest.mark.django_db


def sign_in(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_it_locks_a_username_after_five_failed_sign_ins(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "alice", "wrong").status_code == 200  # the form again

    locked = sign_in(client, "alice", "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    # Even the right password is refused while locked.
    assert sign_in(client, "alice", PASSWORD).status_code == 429


def test_it_locks_the_api_token_endpoint_too(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/auth/token/", {"username": "alice", "password": "wrong"})
    # The right password gets no token while locked (DRF reports it as bad credentials).
    response = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "token" not in response.json()


def test_it_lets_an_admin_unlock_a_user(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong")
    assert AccessAttempt.objects.filter(username="alice").exists()

    call_command("axes_reset_username", "alice")

    assert sign_in(client, "alice", PASSWORD).status_code == 302  # signed in


def test_it_lists_access_attempts_in_the_admin(client, ada, alice):
    sign_in(client, "alice", "wrong")
    client.force_login(ada)
    page = client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "alice" in page.content.decode()


def test_it_forgets_failures_after_a_successful_sign_in(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, "alice", "wrong").status_code == 200  # counting starts again


def test_it_throttles_api_requests_per_user(client, alice, monkeypatch):
    cache.clear()
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})
    client.force_login(alice)
    statuses = [client.get("/api/customers/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    cache.clear()


def test_it_sends_a_strict_content_security_policy(client, alice):
    client.force_login(alice)
    policy = client.get("/customers/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def test_it_serves_the_api_docs_without_an_inline_script(client):
    page = client.get("/api/docs/").content.decode()
    assert "<script>" not in page.replace(" ", "")


def test_it_uses_secure_cookies_and_hsts_in_production():
    probe = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.LOGGING['handlers']['console']['formatter'])"
    )
    result = run_manage({}, "shell", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["True", "True", "True", "True", "json"]


def test_it_writes_json_log_lines_with_the_customer_id():
    record = logging.LogRecord("crm", logging.WARNING, __file__, 1, "recompute of %s", (7,), None)
    with log_context(customer_id=7):
        ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["customer_id"] == 7
    assert line["message"] == "recompute of 7"
    assert line["level"] == "WARNING"
    assert "task_id" not in line  # not inside a task


def test_it_reports_an_unreachable_database_on_healthz():
    probe = (
        "from django.test import Client; "
        "r = Client(HTTP_HOST='crm.example.com').get('/healthz'); "
        "print(r.status_code, r.json()['checks']['database'].split(':')[0])"
    )
    result = run_manage(
        {
            "DJANGO_SETTINGS_MODULE": "crm.settings.test",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
        },
        "shell",
        "-c",
        probe,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "503 error"
