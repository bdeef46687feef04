"""A starting vocabulary of facts; admins change it in the admin."""

from django.db import migrations

DEFAULT_FACTS = [
    # key, label, question, kind, value_type, choices, weight
    ("wallet_annual", "Annual category spend (wallet)",
     "Roughly what do you spend a year on this, with anyone?", "other", "number", [], 90),
    ("delivery_window", "Preferred delivery window",
     "When do deliveries suit you best?", "delivery", "choice",
     ["morning", "afternoon", "evening", "weekend"], 60),
    ("household_or_team_size", "People served",
     "How many people does this serve?", "size", "number", [], 55),
    ("taste_profile", "Taste profile", "What do you like in your coffee?", "taste", "choice",
     ["fruity", "chocolatey", "nutty", "dark and bold", "no preference"], 45),
    ("budget_constraint", "Budget constraint", "Is there a budget we should keep to?",
     "constraint", "text", [], 40),
]


def create(apps, schema_editor):
    FactKey = apps.get_model("customers", "FactKey")
    for key, label, question, kind, value_type, choices, weight in DEFAULT_FACTS:
        FactKey.objects.get_or_create(key=key, defaults={
            "label": label, "question": question, "kind": kind, "value_type": value_type,
            "choices": choices, "value_weight": weight,
        })


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_knowledge_and_history")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
