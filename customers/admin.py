from django.contrib import admin
from django.db.models import F
from simple_history.admin import SimpleHistoryAdmin

from .models import ChannelConsent, Customer, CustomerFact, FactKey


class FiguresStaleFilter(admin.SimpleListFilter):
    """Customers whose figures lag their data: a recompute is pending, or failing for good."""

    title = "figures"
    parameter_name = "figures"

    def lookups(self, request, model_admin):
        return [("stale", "Stale (recompute pending or failing)")]

    def queryset(self, request, queryset):
        if self.value() == "stale":
            return queryset.filter(figures_computed_version__lt=F("figures_version"))
        return queryset


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "owner", "status", "interaction_count", "last_contact_at"]
    list_filter = ["status", "kind", "owner", FiguresStaleFilter]
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


@admin.register(FactKey)
class FactKeyAdmin(admin.ModelAdmin):
    list_display = [
        "label",
        "key",
        "kind",
        "value_type",
        "value_weight",
        "category",
        "money",
        "active",
    ]
    list_filter = ["kind", "money", "active"]
    list_editable = ["value_weight", "active"]
    search_fields = ["label", "key"]
    prepopulated_fields = {"key": ["label"]}


@admin.register(CustomerFact)
class CustomerFactAdmin(SimpleHistoryAdmin):
    list_display = [
        "customer",
        "key",
        "value",
        "need_status",
        "is_current",
        "recorded_by",
        "source",
        "recorded_at",
    ]
    list_filter = ["is_current", "source", "key"]
    list_select_related = ["customer", "key", "recorded_by"]
    raw_id_fields = ["customer", "source_interaction", "supersedes"]
    search_fields = ["customer__name", "value"]

    def has_change_permission(self, request, obj=None):
        return False  # facts are superseded, never edited


@admin.register(ChannelConsent)
class ChannelConsentAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "channel", "granted", "how", "recorded_at"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
