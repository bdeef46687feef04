"""/healthz: is the database reachable, the broker reachable, and a worker answering?"""

from datetime import timedelta

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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
    replies = app.control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no worker answered a ping within 1 s")
    return f"ok ({len(replies)} answering)"


# Information, not a failure: customers whose recompute has been missing for this long are
# failing (the sweeper re-sends every minute). The admin lists them with "figures: stale".
LAGGING_AFTER = timedelta(minutes=10)


def _lagging_figures() -> dict:
    from customers.selectors import customers_with_stale_figures

    try:
        return {"lagging_figures": customers_with_stale_figures(older_than=LAGGING_AFTER).count()}
    except DatabaseError:
        return {}


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
