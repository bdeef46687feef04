"""/healthz: is the database reachable, the broker reachable, and a worker answering?"""

from django.db import connection
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
        {"status": "ok" if healthy else "unhealthy", "checks": report},
        status=200 if healthy else 503,
    )
