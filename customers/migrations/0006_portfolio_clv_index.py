from django.db import migrations

# The portfolio's default order (and the to-do's at-risk list) is most valuable first with the
# customers without figures last: ORDER BY predicted_clv DESC NULLS LAST, which the plain
# (owner, -predicted_clv) index cannot serve on PostgreSQL (DESC puts NULLs first there).
# SQLite cannot create such an index, and does not need it at the embedded default's size.
CREATE = (
    "CREATE INDEX IF NOT EXISTS customer_owner_clv_nulls_last "
    "ON customers_customer (owner_id, predicted_clv DESC NULLS LAST)"
)
DROP = "DROP INDEX IF EXISTS customer_owner_clv_nulls_last"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_next_due_on")]

    operations = [migrations.RunPython(create, drop)]
