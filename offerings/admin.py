from django.contrib import admin

from .models import Category, Component, Offering, Partner


class ComponentInline(admin.TabularInline):
    model = Component
    extra = 1


@admin.register(Offering)
class OfferingAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price", "active", "replenish_every_days"]
    list_filter = ["active", "category"]
    search_fields = ["name"]
    inlines = [ComponentInline]


admin.site.register(Category)
admin.site.register(Partner)
