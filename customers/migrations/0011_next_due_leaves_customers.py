from django.db import migrations


class Migration(migrations.Migration):
    """The next due action is workspace's now (workspace.CustomerAgenda, filled from this
    column by workspace 0003)."""

    dependencies = [
        ("customers", "0010_figures_leave_customers"),
        ("workspace", "0003_customer_agenda"),
    ]

    operations = [
        migrations.RemoveField(model_name="customer", name="next_due_on"),
    ]
