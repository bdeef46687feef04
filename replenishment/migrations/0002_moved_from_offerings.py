# What refers to the moved models by their app's name follows them to replenishment: their
# content types (so permissions granted and admin log entries stay theirs) and the scheduled run
# in django-celery-beat's table (it names its task by import path). On a database migrated from
# empty there is nothing of either yet: post_migrate creates both under the new names.
#
# It also computes the purchase forecasts of a database that had orders before the forecast
# table existed (this step used to be offerings/0003's).

from django.db import migrations
from django.utils import timezone

MODELS = ("replenishmentsubscription", "replenishmentdelivery", "purchaseforecast")
OLD_TASK = "offerings.tasks.replenishments_run"
NEW_TASK = "replenishment.tasks.replenishments_run"


def content_types_follow(apps, schema_editor, source="offerings", target="replenishment"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        old = ContentType.objects.filter(app_label=source, model=model)
        if old.exists():
            # The old row holds what was granted and logged; one created meanwhile (after a
            # rollback, by post_migrate) holds only the default permissions, made again later.
            ContentType.objects.filter(app_label=target, model=model).delete()
            old.update(app_label=target)


def content_types_back(apps, schema_editor):
    content_types_follow(apps, schema_editor, source="replenishment", target="offerings")


def scheduled_task_follows(apps, schema_editor, old=OLD_TASK, new=NEW_TASK):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(task=old).update(task=new):
        # What django-celery-beat's own save signal does: a running beat reloads its schedule.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def scheduled_task_back(apps, schema_editor):
    scheduled_task_follows(apps, schema_editor, old=NEW_TASK, new=OLD_TASK)


def forecast_existing_customers(apps, schema_editor):
    # Only where there are orders and no forecast yet (a database migrated from empty has no
    # orders, so later schema changes cannot break this step); the current code's arithmetic.
    if apps.get_model("replenishment", "PurchaseForecast").objects.exists():
        return
    if not apps.get_model("interactions", "OrderLine").objects.exists():
        return
    from replenishment.forecasts import purchase_forecasts_refresh

    purchase_forecasts_refresh()


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        ('replenishment', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(content_types_follow, content_types_back),
        migrations.RunPython(scheduled_task_follows, scheduled_task_back),
        migrations.RunPython(forecast_existing_customers, migrations.RunPython.noop),
    ]
