from django.contrib import admin

from .models import ChannelCost, Interaction, OfferingRating, OrderLine, ServiceLevelTarget


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["offering"]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "customer", "channel", "direction", "type", "subject"]
    list_filter = ["channel", "direction", "type", "requires_response", "offer_outcome"]
    search_fields = ["subject", "notes", "customer__name"]
    date_hierarchy = "occurred_at"
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "thread", "logged_by", "assignee", "offer"]
    inlines = [OrderLineInline]


@admin.register(ChannelCost)
class ChannelCostAdmin(admin.ModelAdmin):
    list_display = ["channel", "cost_per_interaction"]
    list_editable = ["cost_per_interaction"]


@admin.register(ServiceLevelTarget)
class ServiceLevelTargetAdmin(admin.ModelAdmin):
    list_display = ["type", "channel_or_any", "first_response_hours"]
    list_editable = ["first_response_hours"]
    list_filter = ["type", "channel"]

    @admin.display(description="Channel", ordering="channel")
    def channel_or_any(self, target: ServiceLevelTarget) -> str:
        return target.get_channel_display() if target.channel else "any channel"


@admin.register(OfferingRating)
class OfferingRatingAdmin(admin.ModelAdmin):
    list_display = ["rated_at", "customer", "offering", "rating", "recorded_by"]
    list_filter = ["rating", "offering"]
    search_fields = ["customer__name", "offering__name"]
    list_select_related = ["customer", "offering", "recorded_by"]
    raw_id_fields = ["customer", "offering", "recorded_by", "interaction"]
    date_hierarchy = "rated_at"
