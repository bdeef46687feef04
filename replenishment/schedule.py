"""The replenishment run in django-celery-beat's database schedule.

Created once (after every migrate, if missing) rather than listed in CELERY_BEAT_SCHEDULE:
the DatabaseScheduler rewrites settings entries at every start, which would undo an admin's
change of time or interval; a database-only entry keeps what the admin set.
"""

REPLENISHMENT_TASK_NAME = "replenishments-run"
REPLENISHMENT_TASK = "replenishment.tasks.replenishments_run"


def replenishment_schedule_ensure(**kwargs) -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask.objects.filter(name=REPLENISHMENT_TASK_NAME).exists():
        return
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    PeriodicTask.objects.create(
        name=REPLENISHMENT_TASK_NAME,
        task=REPLENISHMENT_TASK,
        interval=hourly,
        description="Turns due replenishment subscriptions into order or reminder "
        "interactions, once per due date. Safe to run as often as you like.",
    )
