"""Import tasks: thin, by id, idempotent (an interrupted job resumes; its keys skip what
was already written), and `import_job_enqueue`, which sends one after commit. The tasks import
the services, never the reverse."""

from celery import shared_task
from django.db import transaction

from core.dispatch import enqueue_on_commit
from core.tasks import retry_transient

from . import services
from .models import ImportJob

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


def import_job_enqueue(*, kind: str, content: bytes, file_name: str = "", by=None) -> ImportJob:
    """Create an import job and send it to a worker once the job's row is committed."""
    with transaction.atomic():
        job = services.import_job_create(kind=kind, content=content, file_name=file_name, by=by)
        enqueue_on_commit(dataio_import_run, job.pk)
    return job
