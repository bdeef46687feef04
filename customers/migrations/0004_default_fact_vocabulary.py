"""A starting vocabulary of facts; admins change it in the admin."""

from django.db import migrations

from customers.facts import fact_vocabulary_defaults_ensure

def create(apps, schema_editor):
    fact_vocabulary_defaults_ensure(fact_key_model=apps.get_model("customers", "FactKey"))


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_knowledge_and_history")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
