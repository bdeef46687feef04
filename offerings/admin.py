"""Admin configuration of offerings, components, partners and categories."""

from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet

from . import selectors, services
from .models import Category, Component, Offering, Partner


def money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


class ComponentFormSet(BaseInlineFormSet):
    default_error_messages = {
        **BaseInlineFormSet.default_error_messages,
        "too_few_forms": "An offering needs at least one component: add a product or a service.",
    }


class ComponentInline(admin.TabularInline):
    model = Component
    formset = ComponentFormSet
    fields = ["name", "kind", "partner", "price", "cost"]
    extra = 0
    min_num = 1
    verbose_name = "component"
    verbose_name_plural = "components (a product or service, in-house or by a partner)"

    def get_formset(self, request, obj=None, **kwargs):
        # A bundle needs at least one component, also when the admin deletes them all.
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class ArchivedFilter(admin.SimpleListFilter):
    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", "Not archived"), ("yes", "Archived")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(archived_at__isnull=self.value() == "no")
        return queryset


@admin.register(Offering)
class OfferingAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "category",
        "price",
        "bundle_cost",
        "bundle_margin",
        "bundle_margin_percent",
        "status",
        "replenish",
    ]
    list_filter = ["active", ArchivedFilter, "category"]
    search_fields = ["name"]
    inlines = [ComponentInline]
    readonly_fields = [
        "components_price",
        "bundle_cost",
        "bundle_margin",
        "bundle_margin_percent",
        "status",
    ]
    filter_horizontal = ["eligible_needs"]
    actions = ["archive", "restore"]
    fieldsets = [
        (None, {"fields": ["name", "category", "description"]}),
        (
            "Price and margin",
            {
                "fields": [
                    "price",
                    "components_price",
                    "bundle_cost",
                    "bundle_margin",
                    "bundle_margin_percent",
                ],
                "description": "Cost is the sum of the components' costs; the margin updates "
                "as you type.",
            },
        ),
        ("Availability", {"fields": ["status", "active", "replenish_every_days"]}),
        (
            "Eligibility (who it suits)",
            {
                "fields": [
                    "eligible_needs",
                    ("suits_mvc", "suits_mgc", "suits_below_zero", "suits_maintain"),
                    ("suits_person", "suits_organization"),
                ],
                "description": "Next best offerings only suggest it to customers it suits.",
            },
        ),
    ]

    class Media:
        js = ["offerings/offering_margin.js"]
        css = {"all": ["offerings/offering_admin.css"]}

    def get_queryset(self, request):
        return selectors.offerings_with_figures()

    @admin.display(description="Components list price")
    def components_price(self, obj: Offering) -> str:
        if obj.pk is None:
            return "—"
        return money(sum((c.price for c in obj.components.all()), Decimal("0.00")))

    @admin.display(description="Cost")
    def bundle_cost(self, obj: Offering) -> str:
        return "—" if obj.pk is None else money(obj.cost)

    @admin.display(description="Margin")
    def bundle_margin(self, obj: Offering) -> str:
        return "—" if obj.pk is None else money(obj.margin)

    @admin.display(description="Margin %")
    def bundle_margin_percent(self, obj: Offering) -> str:
        if obj.pk is None or obj.margin_percent is None:
            return "—"
        return f"{obj.margin_percent} %"

    @admin.display(description="Status")
    def status(self, obj: Offering) -> str:
        if obj.archived_at:
            return f"Archived {obj.archived_at:%Y-%m-%d}"
        return "Active" if obj.active else "Inactive"

    @admin.display(description="Replenish", ordering="replenish_every_days")
    def replenish(self, obj: Offering) -> str:
        return f"every {obj.replenish_every_days} days" if obj.replenish_every_days else "—"

    def has_delete_permission(self, request, obj=None) -> bool:
        # Anything ever sold stays on the customers' history: archive it instead.
        if obj is not None and selectors.offering_was_sold(offering=obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for offering in queryset:
            try:
                services.offering_delete(offering=offering)
            except ValidationError as error:
                self.message_user(request, error.messages[0], messages.ERROR)

    @admin.action(description="Archive selected offerings (keeps them on history)")
    def archive(self, request, queryset) -> None:
        for offering in queryset:
            services.offering_archive(offering=offering)
        self.message_user(request, f"Archived {len(queryset)} offering(s).", messages.SUCCESS)

    @admin.action(description="Restore selected archived offerings (inactive)")
    def restore(self, request, queryset) -> None:
        for offering in queryset.filter(archived_at__isnull=False):
            services.offering_restore(offering=offering)
        self.message_user(request, "Restored; activate them when they are on offer again.")


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "component_count"]
    search_fields = ["name", "email"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(component_count=Count("components"))

    @admin.display(description="Components delivered", ordering="component_count")
    def component_count(self, obj: Partner) -> int:
        return obj.component_count


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "offering_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(offering_count=Count("offerings"))

    @admin.display(description="Offerings", ordering="offering_count")
    def offering_count(self, obj: Category) -> int:
        return obj.offering_count
