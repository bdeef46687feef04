"""The workspace's nightly work in django-celery-beat's database schedule: the co-occurrence
refresh, and the record of each portfolio's equity at the end of the day.

Created once (after every migrate, if missing), like offerings.schedule: a database-only entry
keeps the time an admin sets.
"""

AFFINITY_TASK_NAME = "offering-affinities-refresh"
AFFINITY_TASK = "workspace.tasks.offering_affinities_refresh"
EQUITY_TASK_NAME = "portfolio-equity-record"
EQUITY_TASK = "workspace.tasks.portfolio_equity_record"


def workspace_schedule_ensure(**kwargs) -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    entries = [
        (
            AFFINITY_TASK_NAME,
            AFFINITY_TASK,
            ("30", "2"),
            "Recounts which offerings customers hold together (next best offerings). "
            "One bulk SQL statement; safe to run as often as you like.",
        ),
        (
            EQUITY_TASK_NAME,
            EQUITY_TASK,
            ("55", "23"),
            "Records each manager's customer equity at the end of the day, for the portfolio's "
            "trend chart. One GROUP BY; running it again the same day replaces the day's row.",
        ),
    ]
    for name, task, (minute, hour), description in entries:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*"
        )
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab, description=description)
