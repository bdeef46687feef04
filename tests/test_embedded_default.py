"""The embedded default of `bin/run`: SQLite, Kombu's filesystem broker and a real worker.

Everything runs in separate processes, as on a newcomer's machine: migrate, a worker, and a
web-side process that logs an interaction and then sees the worker's figures.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crm.celery import app as test_app

from .worker import ROOT, celery_worker, wait_for

pytestmark = pytest.mark.worker

LOG_AN_INTERACTION = """
from django.contrib.auth import get_user_model
from customers.services import customer_create
from interactions.services import interaction_log
from crm.celery import app
user = get_user_model().objects.create_user("sam", password="x")
customer = customer_create(name="Embedded Customer", owner=user)
interaction_log(customer=customer, logged_by=user, channel="chat", direction="inbound",
                type="inquiry", subject="Hello from SQLite")
print(customer.pk)
"""

READ_FIGURES = """
import json
from customers.models import Customer
c = Customer.objects.get(pk={pk})
print(json.dumps([c.figures.interaction_count, c.figures.stale]))
"""


@pytest.fixture
def embedded_env(tmp_path: Path, monkeypatch):
    # Also out of this process's environment: the worker helper inherits it, and Celery reads
    # CELERY_BROKER_URL from the environment before any app's broker_url (the ping app's too).
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
        monkeypatch.delenv(key, raising=False)
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="crm.settings.local", CRM_VAR_DIR=str(tmp_path))
    # Empty, not absent: celery_worker() starts from os.environ, where a developer's own
    # DATABASE_URL / CELERY_BROKER_URL would otherwise point the worker elsewhere.
    env.update(DATABASE_URL="", CELERY_BROKER_URL="", REDIS_URL="")
    return env


def manage(env, *args) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def filesystem_ping_app(var_dir: Path):
    """The test process pings the worker through the same filesystem broker it uses."""
    ping_app = test_app.__class__("ping")
    ping_app.conf.broker_url = "filesystem://"
    ping_app.conf.broker_transport_options = {
        "data_folder_in": str(var_dir / "broker" / "queue"),
        "data_folder_out": str(var_dir / "broker" / "queue"),
        "control_folder": str(var_dir / "broker" / "control"),
    }
    return ping_app


def test_it_runs_the_loop_on_sqlite_and_the_filesystem_broker(embedded_env, tmp_path):
    manage(embedded_env, "migrate", "--noinput")
    assert (tmp_path / "crm.sqlite3").exists()

    ping_app = filesystem_ping_app(tmp_path)
    with celery_worker(env=embedded_env, ping_app=ping_app) as worker:
        pk = manage(embedded_env, "shell", "-c", LOG_AN_INTERACTION).splitlines()[-1]
        assert wait_for(
            lambda: (
                json.loads(
                    manage(embedded_env, "shell", "-c", READ_FIGURES.format(pk=pk)).splitlines()[-1]
                )
                == [1, False]
            ),
            timeout=60,
            interval=0.5,
        )
    # The figures were written by the worker process, not inline in the web process.
    assert "valuation.tasks.customer_figures_recompute_task" in worker.log()
    assert "succeeded" in worker.log()


REQUEST_A_REFIT = """
from valuation.tasks import valuation_fit_request
print(valuation_fit_request().pk)
"""

REFIT_PROGRESS = """
import json
from customers.models import Customer
from valuation.models import ModelFit
fit = ModelFit.objects.get(pk={pk})
done = fit.fitted_at
behind = Customer.objects.exclude(figures__computed_at__gte=done) if done else None
print(json.dumps([fit.status, fit.method, None if behind is None else behind.count()]))
"""


def test_it_refits_and_recomputes_everyone_in_chunks_on_sqlite(embedded_env, tmp_path):
    manage(embedded_env, "migrate", "--noinput")
    # Demo data is valued right away, in the seeding process (no worker needed).
    manage(embedded_env, "seed_demo", "--customers", "40", "--days", "300")
    env = {**embedded_env, "RECOMPUTE_RANGE_SIZE": "15"}  # 40 customers: three chunks

    with celery_worker(env=env, ping_app=filesystem_ping_app(tmp_path)) as worker:
        pk = manage(env, "shell", "-c", REQUEST_A_REFIT).splitlines()[-1]

        def everyone_recomputed() -> bool:
            status, _, behind = json.loads(
                manage(env, "shell", "-c", REFIT_PROGRESS.format(pk=pk)).splitlines()[-1]
            )
            return status == "done" and behind == 0

        wait_for(everyone_recomputed, timeout=90, interval=0.5)
    # The fit ran in the worker, which sent the chunks as a group through the filesystem
    # broker and wrote them into SQLite.
    assert (
        len(re.findall(r"customers_figures_recompute_range_task\[[^\]]+\] succeeded", worker.log()))
        == 3
    )
