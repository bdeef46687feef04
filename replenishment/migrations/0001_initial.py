# The models that left offerings (offerings/0005_replenishment_leaves_offerings), taken over as
# they are. State only: the tables already exist under their offerings_* names (db_table), with
# their rows, constraints and indexes; a database migrated from empty created them in
# offerings/0002 and 0003.

import core.bounds
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('customers', '0009_money_facts_and_preference_links'),
        ('interactions', '0005_date_windows_and_amount_bounds'),
        ('offerings', '0005_replenishment_leaves_offerings'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ReplenishmentSubscription',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('interval_days', models.PositiveIntegerField(validators=[django.core.validators.MinValueValidator(1), core.bounds.validate_interval_days])),
                        ('quantity', models.DecimalField(decimal_places=2, default=Decimal('1'), max_digits=10, validators=[django.core.validators.MinValueValidator(Decimal('0.01')), core.bounds.validate_quantity])),
                        ('next_due', models.DateField(db_index=True, validators=[core.bounds.validate_planned_on])),
                        ('mode', models.CharField(choices=[('auto_order', 'Order automatically'), ('reminder', 'Remind the customer')], default='reminder', help_text='Place the order when due, or remind the customer and their manager.', max_length=20)),
                        ('status', models.CharField(choices=[('active', 'Active'), ('paused', 'Paused'), ('cancelled', 'Cancelled')], default='active', max_length=20)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='replenishments', to='customers.customer')),
                        ('offering', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='replenishments', to='offerings.offering')),
                    ],
                    options={
                        'db_table': 'offerings_replenishmentsubscription',
                        'ordering': ['next_due', 'id'],
                        'indexes': [models.Index(fields=['status', 'next_due'], name='replenishment_due_idx')],
                        'constraints': [
                            models.CheckConstraint(condition=models.Q(('interval_days__gte', 1)), name='replenishment_interval_positive'),
                            models.CheckConstraint(condition=models.Q(('quantity__gt', 0)), name='replenishment_quantity_positive'),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name='ReplenishmentDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('due_on', models.DateField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('interaction', models.OneToOneField(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='replenishment_delivery', to='interactions.interaction')),
                        ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='replenishment.replenishmentsubscription')),
                    ],
                    options={
                        'verbose_name_plural': 'replenishment deliveries',
                        'db_table': 'offerings_replenishmentdelivery',
                        'ordering': ['-due_on', '-id'],
                        'constraints': [models.UniqueConstraint(fields=('subscription', 'due_on'), name='replenishment_once_per_due_date')],
                    },
                ),
                migrations.CreateModel(
                    name='PurchaseForecast',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('last_purchase', models.DateField()),
                        ('median_interval_days', models.FloatField()),
                        ('predicted_on', models.DateField(db_index=True)),
                        ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='purchase_forecasts', to='customers.customer')),
                        ('offering', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='offerings.offering')),
                    ],
                    options={
                        'db_table': 'offerings_purchaseforecast',
                        'ordering': ['predicted_on', 'customer'],
                        'constraints': [models.UniqueConstraint(fields=('customer', 'offering'), name='one_forecast_per_customer_offering')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
