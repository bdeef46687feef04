"""The project's Celery app with test-only faults, chosen by environment variables.

Started by the fault tests as `celery -A tests.fault_worker worker`; production never loads it.

- CRM_FAULT_STALL_MARKER=path: a recompute writes its task id to `path`, then hangs (so the
  test can kill the worker mid-task).
- CRM_FAULT_SLOW_SECONDS=s: a recompute sleeps s seconds before it runs (so the test can take
  the broker away while the worker holds unacknowledged tasks that then finish).
- CRM_FAULT_FAIL_TIMES=n: the first n recomputes raise a transient database error.
- CRM_FAULT_MAX_RETRIES=n: the recompute's retry cap (8 in production) for a short test.
- CRM_FAULT_CHUNK_FAIL_TIMES=n: the first n chunks of a refit's recompute raise a transient
  database error.
"""

import os
import time
from pathlib import Path

from celery.signals import task_prerun
from django.db import OperationalError

from crm.celery import app

__all__ = ["app"]

RECOMPUTE = "valuation.tasks.customer_figures_recompute_task"
CHUNK = "valuation.tasks.customers_figures_recompute_range_task"
STALL_MARKER = os.environ.get("CRM_FAULT_STALL_MARKER", "")
FAIL_TIMES = int(os.environ.get("CRM_FAULT_FAIL_TIMES", "0"))
MAX_RETRIES = os.environ.get("CRM_FAULT_MAX_RETRIES", "")
SLOW_SECONDS = float(os.environ.get("CRM_FAULT_SLOW_SECONDS", "0"))
CHUNK_FAIL_TIMES = int(os.environ.get("CRM_FAULT_CHUNK_FAIL_TIMES", "0"))
_failures = {"left": FAIL_TIMES, "installed": False}
_chunk_failures = {"left": CHUNK_FAIL_TIMES, "installed": False}


def _install_failures() -> None:
    from valuation import services

    original = services.customer_figures_recompute

    def failing(**kwargs):
        if _failures["left"] > 0:
            _failures["left"] -= 1
            raise OperationalError("injected fault: the database connection was lost")
        return original(**kwargs)

    services.customer_figures_recompute = failing
    _failures["installed"] = True


def _install_chunk_failures() -> None:
    from valuation import services

    original = services.customers_figures_recompute_range

    def failing(**kwargs):
        if _chunk_failures["left"] > 0:
            _chunk_failures["left"] -= 1
            raise OperationalError("injected fault: the database connection was lost")
        return original(**kwargs)

    services.customers_figures_recompute_range = failing
    _chunk_failures["installed"] = True


@task_prerun.connect
def _inject(sender=None, task_id=None, **kwargs):
    if sender is not None and sender.name == CHUNK:
        if CHUNK_FAIL_TIMES and not _chunk_failures["installed"]:
            _install_chunk_failures()
        return
    if sender is None or sender.name != RECOMPUTE:
        return
    if MAX_RETRIES:
        sender.max_retries = int(MAX_RETRIES)
    if FAIL_TIMES and not _failures["installed"]:
        _install_failures()
    if STALL_MARKER:
        Path(STALL_MARKER).write_text(task_id)
        time.sleep(600)
    if SLOW_SECONDS:
        time.sleep(SLOW_SECONDS)
