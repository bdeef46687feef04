"""Settings per environment: production passes Django's deployment check and refuses bad config."""

import os
import subprocess
import sys

import pytest

from .worker import ROOT

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "crm.settings.production",
    "SECRET_KEY": "x7#" + "k" * 30 + "-vQ9!m2Lp&Zr4Tb8Wn",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/crm",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "ALLOWED_HOSTS": "crm.example.com",
    "DEBUG": "false",
}


def run_manage(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION_ENV, **env_overrides}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deployment_check_in_production():
    result = run_manage({}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DEBUG": "true"}, "DEBUG"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": ""}, "CELERY_BROKER_URL"),
    ],
)
def test_it_refuses_to_start_production_with_unsafe_settings(override, complaint):
    result = run_manage(override, "check")
    assert result.returncode != 0
    assert complaint in result.stderr
