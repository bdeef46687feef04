"""The nightly co-occurrence refresh in django-celery-beat's database schedule.

Created once (after every migrate, if missing), like offerings.schedule: a database-only entry
keeps the time an admin sets.
"""

AFFINITY_TASK_NAME = "offering-affinities-refresh"
AFFINITY_TASK = "workspace.tasks.offering_affinities_refresh"


def affinity_schedule_ensure(**kwargs) -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    if PeriodicTask.objects.filter(name=AFFINITY_TASK_NAME).exists():
        return
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.create(
        name=AFFINITY_TASK_NAME,
        task=AFFINITY_TASK,
        crontab=nightly,
        description="Recounts which offerings customers hold together (next best offerings). "
        "One bulk SQL statement; safe to run as often as you like.",
    )
