import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def agendas_from_customers(apps, schema_editor):
    """The next due action was a column of customers.Customer: copy it, with the owner, into
    one agenda row per customer (customers 0011 then drops the column)."""
    Customer = apps.get_model("customers", "Customer")
    CustomerAgenda = apps.get_model("workspace", "CustomerAgenda")
    agenda = schema_editor.quote_name(CustomerAgenda._meta.db_table)
    customer = schema_editor.quote_name(Customer._meta.db_table)
    schema_editor.execute(
        f"INSERT INTO {agenda} (customer_id, owner_id, next_due_on) "
        f"SELECT id, owner_id, next_due_on FROM {customer}"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0009_money_facts_and_preference_links"),
        ("workspace", "0002_portfolio_equity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerAgenda",
            fields=[
                (
                    "customer",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="agenda",
                        serialize=False,
                        to="customers.customer",
                    ),
                ),
                ("next_due_on", models.DateField(blank=True, null=True)),
                (
                    "owner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["owner", "next_due_on"], name="workspace_c_owner_i_675435_idx"
                    )
                ],
            },
        ),
        migrations.RunPython(agendas_from_customers, migrations.RunPython.noop),
    ]
