from django.contrib import admin

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "owner", "status", "interaction_count", "last_contact_at"]
    list_filter = ["status", "kind", "owner"]
    search_fields = ["name", "email", "external_ref"]
    list_select_related = ["owner"]
    raw_id_fields = ["referred_by"]
    readonly_fields = [
        "interaction_count",
        "last_contact_at",
        "metrics_computed_at",
        "figures_version",
        "figures_computed_version",
        "created_at",
        "updated_at",
    ]
