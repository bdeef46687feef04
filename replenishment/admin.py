"""Admin configuration of replenishment subscriptions and their deliveries."""

from django.contrib import admin

from offerings.selectors import offerings_orderable

from . import services
from .models import ReplenishmentDelivery, ReplenishmentSubscription


class ReplenishmentDeliveryInline(admin.TabularInline):
    model = ReplenishmentDelivery
    fields = ["due_on", "interaction", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReplenishmentSubscription)
class ReplenishmentSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["customer", "offering", "interval_days", "next_due", "mode", "status"]
    list_filter = ["status", "mode", "offering"]
    search_fields = ["customer__name", "offering__name"]
    list_select_related = ["customer", "offering"]
    raw_id_fields = ["customer"]
    inlines = [ReplenishmentDeliveryInline]
    # Saved through the services, which keep each customer's next due action current: a new
    # subscription by replenishment_subscribe, a status change by replenishment_set_status.
    NEW_FIELDS = ["customer", "offering", "interval_days", "quantity", "next_due", "mode"]

    def get_fields(self, request, obj=None):
        return self.NEW_FIELDS if obj is None else [*self.NEW_FIELDS, "status"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.NEW_FIELDS

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "offering":
            kwargs["queryset"] = offerings_orderable()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            if "status" in form.changed_data:
                services.replenishment_set_status(subscription=obj, status=obj.status)
            return
        fields = {name: form.cleaned_data[name] for name in self.NEW_FIELDS}
        subscription = services.replenishment_subscribe(**fields)
        obj.pk, obj._state.adding = subscription.pk, False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # cancelled, never deleted: its deliveries are history
