from django.contrib import admin, messages

from . import tasks
from .models import CustomerSnapshot, FitPriors, ModelFit, ValuationSettings


@admin.register(ValuationSettings)
class ValuationSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "horizon_months",
        "annual_discount_rate",
        "target_share_of_customer",
        "mvc_share",
        "mgc_share",
        "min_customers_to_fit",
    ]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ValuationSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class FitPriorsInline(admin.StackedInline):
    """The fit's basis for prospects and inferred wallets (docs/valuation.md), as the fit
    wrote it."""

    model = FitPriors
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ModelFit)
class ModelFitAdmin(admin.ModelAdmin):
    inlines = [FitPriorsInline]
    list_display = [
        "id",
        "as_of",
        "status",
        "method",
        "customers",
        "chosen_model",
        "chosen_by",
        "bgnbd_log_likelihood",
        "duration_ms",
        "fitted_at",
    ]
    list_filter = ["status", "method"]
    actions = ["refit_now"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ModelFit._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Refit the purchase models now (as of today)")
    def refit_now(self, request, queryset):
        fit = tasks.valuation_fit_request()
        messages.info(request, f"Refit {fit.pk} queued (task {fit.task_id}).")


@admin.register(CustomerSnapshot)
class CustomerSnapshotAdmin(admin.ModelAdmin):
    list_display = ["customer", "taken_on", "tier", "predicted_clv", "p_alive"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    date_hierarchy = "taken_on"

    # Snapshots are written by the recomputes only.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
