"""The Celery application. Configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery

from .kombu_compat import install as install_kombu_workaround

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")

# A broker outage must never kill the worker (see crm/kombu_compat.py for the kombu bug).
install_kombu_workaround()

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
