"""Import tasks: thin, by id, idempotent (an interrupted job resumes; its keys skip what
was already written)."""

from celery import shared_task

from core.tasks import retry_transient

from . import services

MAX_RETRIES = 5


@shared_task(
    bind=True,
    **retry_transient(max_retries=MAX_RETRIES, backoff_max=120),
    acks_late=True,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 300,
)
def dataio_import_run(self, job_id: int) -> None:
    # Whatever stops the import fails its job (the service records why); a transient
    # database error with retries left queues it again for the retry.
    services.import_job_run(job_id=job_id, retrying=self.request.retries < MAX_RETRIES)


@shared_task
def dataio_import_jobs_check() -> int:
    """Every minute (celery beat): fail the import jobs whose process died or went silent."""
    return services.import_jobs_check()
