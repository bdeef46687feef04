from django.contrib import admin

from . import services
from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The outbox, read-only: what happened, and which events still wait for a relay."""

    list_display = ("id", "name", "customer_id", "occurred_at", "relayed_at", "attempts")
    list_filter = ("name", ("relayed_at", admin.EmptyFieldListFilter))
    search_fields = ("=customer_id", "=id")
    readonly_fields = [field.name for field in Event._meta.fields]
    actions = ["relay_again"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Relay again (after fixing the cause)")
    def relay_again(self, request, queryset) -> None:
        count = services.events_relay_again(event_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} events will be relayed by the next sweep.")
