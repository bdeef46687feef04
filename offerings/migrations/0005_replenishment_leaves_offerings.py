# Replenishment subscriptions, their deliveries and purchase forecasts move to the replenishment
# app (replenishment/0001_initial takes them over). State only: the tables, their rows,
# constraints and indexes stay exactly as they are (the models keep these table names).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('offerings', '0004_date_windows_and_amount_bounds'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='replenishmentdelivery',
                    name='interaction',
                ),
                migrations.RemoveField(
                    model_name='replenishmentdelivery',
                    name='subscription',
                ),
                migrations.RemoveField(
                    model_name='replenishmentsubscription',
                    name='customer',
                ),
                migrations.RemoveField(
                    model_name='replenishmentsubscription',
                    name='offering',
                ),
                migrations.DeleteModel(
                    name='PurchaseForecast',
                ),
                migrations.DeleteModel(
                    name='ReplenishmentDelivery',
                ),
                migrations.DeleteModel(
                    name='ReplenishmentSubscription',
                ),
            ],
            database_operations=[],
        ),
    ]
