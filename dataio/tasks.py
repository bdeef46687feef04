"""Import tasks: thin, by id, idempotent (an interrupted job resumes; its keys skip what
was already written)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services

TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=5,
    acks_late=True,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 300,
)
def dataio_import_run(job_id: int) -> None:
    try:
        services.import_job_run(job_id=job_id)
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        services.import_job_fail(job_id=job_id, error=f"{type(error).__name__}: {error}")
        raise
