"""/healthz: is the database reachable, the broker reachable, and a worker answering?"""

from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from valuation.selectors import customers_figures_lag

from .celery import app


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_worker() -> str:
    # The first pong is enough to know a worker consumes: with `limit=1` the ping returns as
    # soon as it arrives instead of always waiting out the timeout (which made /healthz take
    # 2 s). The timeout is only waited for when no worker answers.
    timeout = settings.HEALTH_WORKER_PING_TIMEOUT
    if not app.control.ping(timeout=timeout, limit=1):
        raise RuntimeError(f"no worker answered a ping within {timeout:g} s")
    return "ok"


def _lagging_figures() -> dict:
    """Information, not a failure: customers whose figures have waited longer than
    HEALTH_FIGURES_LAG_SECONDS (a recompute normally lands within seconds, and the sweeper
    re-sends a missing one after 30 s), and the age of the oldest pending recompute."""
    threshold = settings.HEALTH_FIGURES_LAG_SECONDS
    try:
        lag = customers_figures_lag(older_than=timedelta(seconds=threshold))
    except DatabaseError:
        return {}
    return {
        "lagging_figures": lag["lagging"],
        "oldest_pending_recompute_seconds": lag["oldest_pending_seconds"],
        "lag_threshold_seconds": threshold,
    }


CHECKS = {"database": _check_database, "broker": _check_broker, "worker": _check_worker}


@never_cache
@require_GET
def healthz(request):
    report, healthy = {}, True
    for name, check in CHECKS.items():
        try:
            report[name] = check()
        except Exception as error:
            healthy = False
            report[name] = f"error: {type(error).__name__}: {error}"[:300]
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "checks": report, **_lagging_figures()},
        status=200 if healthy else 503,
    )
