from django.contrib import admin

from .models import Interaction, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["offering"]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "customer", "channel", "direction", "type", "subject"]
    list_filter = ["channel", "direction", "type", "requires_response"]
    search_fields = ["subject", "notes", "customer__name"]
    date_hierarchy = "occurred_at"
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "thread", "logged_by"]
    inlines = [OrderLineInline]
