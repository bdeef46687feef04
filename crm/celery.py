"""The Celery application. Configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from .kombu_compat import install as install_kombu_workaround

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")

# A broker outage must never kill the worker (see crm/kombu_compat.py for the kombu bug).
install_kombu_workaround()

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _figures_listener_start(sender=None, **kwargs) -> None:
    """Every worker offers to be the database's listener for stale figures (one is elected;
    valuation.wakeup): the web process then never sends a recompute to the broker."""
    from valuation.wakeup import figures_listener_start

    _listener["stop"] = figures_listener_start()


@worker_shutdown.connect
def _figures_listener_stop(sender=None, **kwargs) -> None:
    stop = _listener.pop("stop", None)
    if stop is not None:
        stop.set()


_listener: dict = {}
