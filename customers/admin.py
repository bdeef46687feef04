"""Admin pages of customers and what they taught us. Every write goes through the services
(docs/architecture.md): a customer saved here is saved by `customer_create` /
`customer_update` (validation, figures asked for, history); facts and consents are recorded
by their services (the log form, the API, the preference centre) and are read-only here;
customers are erased (dataio), never deleted."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import F
from simple_history.admin import SimpleHistoryAdmin

from core.forms import form_add_service_errors

from . import services
from .models import ChannelConsent, Customer, CustomerEmail, CustomerFact, FactKey, email_normalise

PROFILE_FIELDS = [*services.EDITABLE_FIELDS, "owner"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CustomerAdminForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        if {"wallet_annual", "wallet_source"} & set(self.changed_data):
            try:
                services.customer_wallet_check(
                    wallet_annual=data.get("wallet_annual"),
                    wallet_source=data.get("wallet_source", ""),
                )
            except ValidationError as error:
                form_add_service_errors(self, error)
        return data


class FiguresStaleFilter(admin.SimpleListFilter):
    """Customers whose figures lag their data: a recompute is pending, or failing for good."""

    title = "figures"
    parameter_name = "figures"

    def lookups(self, request, model_admin):
        return [("stale", "Stale (recompute pending or failing)")]

    def queryset(self, request, queryset):
        if self.value() == "stale":
            # The figures rows are valuation's (valuation.models.CustomerFigures).
            return queryset.filter(
                figures__figures_computed_version__lt=F("figures__figures_version")
            )
        return queryset


class CustomerEmailForm(forms.ModelForm):
    class Meta:
        model = CustomerEmail
        fields = ["address"]

    def clean_address(self):
        return email_normalise(self.cleaned_data["address"])


class CustomerEmailInline(admin.TabularInline):
    """Other addresses the customer writes from; saved through the services
    (CustomerAdmin.save_formset)."""

    model = CustomerEmail
    form = CustomerEmailForm
    fields = ["address", "added_at"]
    readonly_fields = ["added_at"]
    extra = 1
    verbose_name = "other address"
    verbose_name_plural = "other addresses (mail from these reaches this customer)"


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    form = CustomerAdminForm
    inlines = [CustomerEmailInline]
    list_display = ["name", "kind", "owner", "status", "created_at"]
    list_filter = ["status", "kind", "owner", FiguresStaleFilter]
    search_fields = ["name", "email", "external_ref"]
    list_select_related = ["owner"]
    raw_id_fields = ["referred_by"]
    readonly_fields = [
        "created_at",
        "updated_at",
    ]

    def get_fields(self, request, obj=None):
        return [*PROFILE_FIELDS, *(self.readonly_fields if obj is not None else [])]

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data[field] for field in PROFILE_FIELDS}
        if change:
            changed = {field: data[field] for field in form.changed_data if field in data}
            services.customer_update(customer=obj, data=changed)
            return
        customer = services.customer_create(**data)
        obj.pk, obj._state.adding = customer.pk, False

    def save_formset(self, request, form, formset, change):
        if formset.model is not CustomerEmail:
            return super().save_formset(request, form, formset, change)
        # The addresses are written by the services (normalised, one event), not the formset.
        customer = form.instance
        for address_form in formset.forms:
            old = address_form.initial.get("address")
            if address_form in formset.deleted_forms:
                if old:
                    services.customer_email_remove(customer=customer, address=old)
            elif address_form.has_changed() and address_form.cleaned_data.get("address"):
                if old:
                    services.customer_email_remove(customer=customer, address=old)
                services.customer_email_add(
                    customer=customer, address=address_form.cleaned_data["address"]
                )
        # What the admin's change message reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def has_delete_permission(self, request, obj=None):
        return False  # erased through the privacy page (dataio), which keeps a record


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
class CustomerFactAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
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


@admin.register(ChannelConsent)
class ChannelConsentAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["customer", "channel", "granted", "how", "recorded_at"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
