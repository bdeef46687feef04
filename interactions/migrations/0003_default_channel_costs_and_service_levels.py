"""Defaults an admin then adjusts: a cost per interaction for every channel (SPEC §5, cost to
serve) and the first-response targets of SPEC §5 (complaint 4 h, inquiry 24 h, any channel)."""

from decimal import Decimal

from django.db import migrations

DEFAULT_CHANNEL_COSTS = {
    "email": Decimal("2.00"),
    "phone": Decimal("6.00"),
    "chat": Decimal("3.00"),
    "web": Decimal("0.50"),
    "in_person": Decimal("25.00"),
    "social": Decimal("2.00"),
    "sms": Decimal("0.20"),
    "letter": Decimal("4.00"),
    "partner": Decimal("10.00"),
}
DEFAULT_TARGETS = {"complaint": 4, "inquiry": 24}


def create_defaults(apps, schema_editor):
    ChannelCost = apps.get_model("interactions", "ChannelCost")
    ServiceLevelTarget = apps.get_model("interactions", "ServiceLevelTarget")
    for channel, cost in DEFAULT_CHANNEL_COSTS.items():
        ChannelCost.objects.get_or_create(
            channel=channel, defaults={"cost_per_interaction": cost}
        )
    for type_, hours in DEFAULT_TARGETS.items():
        ServiceLevelTarget.objects.get_or_create(
            type=type_, channel="", defaults={"first_response_hours": hours}
        )


class Migration(migrations.Migration):
    dependencies = [("interactions", "0002_support_desk")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
