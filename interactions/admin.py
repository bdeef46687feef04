"""Admin pages of interactions. Every write goes through the services (docs/architecture.md):
an interaction entered here is logged by `interaction_log` (its order lines in the inline),
so its summary fold, figures version and recompute happen as for any other way in. Logged
interactions and their lines are then read-only here: the running summary folded them in, and
responses, resolutions and ratings have their own services (the support queue, the API)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from core.forms import form_add_service_errors

from . import services
from .models import (
    BusinessCalendar,
    ChannelCost,
    Interaction,
    OfferingRating,
    OrderLine,
    ServiceLevelTarget,
)

# What interaction_log takes from the admin's form (logged_by is the admin signed in).
LOGGED_FIELDS = [
    "customer",
    "channel",
    "direction",
    "type",
    "subject",
    "notes",
    "occurred_at",
    "requires_response",
    "thread",
    "satisfaction",
    "next_step",
    "next_step_due",
    "offer",
    "offer_outcome",
    "assignee",
]
LINE_FIELDS = ["offering", "quantity", "unit_price", "discount", "unit_cost"]


def _line_inputs(formset) -> list[services.OrderLineInput]:
    return [
        services.OrderLineInput(
            offering_id=form.cleaned_data["offering"].pk,
            quantity=form.cleaned_data["quantity"],
            unit_price=form.cleaned_data["unit_price"],
            unit_cost=form.cleaned_data["unit_cost"],
            discount=form.cleaned_data["discount"],
        )
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class OrderLineFormSet(BaseInlineFormSet):
    def clean(self):
        """The service's rules between the interaction and its lines, shown on the form."""
        super().clean()
        if any(form.errors for form in self.forms):
            return
        interaction = self.instance
        try:
            services.interaction_lines_check(
                type=interaction.type,
                offering_ids=[line.offering_id for line in _line_inputs(self)],
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from error


class InteractionAdminForm(forms.ModelForm):
    def clean(self):
        """The service's rule between the customer and the thread, shown on the field."""
        data = super().clean()
        if data.get("customer") is not None:
            try:
                services.interaction_thread_check(
                    customer=data["customer"], thread=data.get("thread")
                )
            except ValidationError as error:
                form_add_service_errors(self, error)
        return data


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    formset = OrderLineFormSet
    fields = LINE_FIELDS
    extra = 0
    raw_id_fields = ["offering"]

    def has_change_permission(self, request, obj=None):
        return False  # lines are folded into the customer's summary when logged

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "customer", "channel", "direction", "type", "subject"]
    list_filter = ["channel", "direction", "type", "requires_response", "offer_outcome"]
    search_fields = ["subject", "notes", "customer__name"]
    date_hierarchy = "occurred_at"
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "thread", "assignee", "offer"]
    inlines = [OrderLineInline]
    form = InteractionAdminForm

    def get_fields(self, request, obj=None):
        if obj is None:
            return LOGGED_FIELDS
        return [*LOGGED_FIELDS, "logged_by", "first_response_at", "resolved_at", "created_at"]

    def has_change_permission(self, request, obj=None):
        return False  # logged interactions are read-only: see the module's docstring

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Nothing yet: the interaction and its lines are logged together in save_related."""

    def save_related(self, request, form, formsets, change):
        (lines,) = [f for f in formsets if isinstance(f, OrderLineFormSet)] or [None]
        data = {field: form.cleaned_data.get(field) for field in LOGGED_FIELDS}
        interaction = services.interaction_log(
            logged_by=request.user,
            lines=_line_inputs(lines) if lines is not None else [],
            **{**data, "offer_outcome": data["offer_outcome"] or ""},
        )
        # The admin's change log and redirect use the object it built from the form.
        form.instance.pk = interaction.pk

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"added": {}}]  # only additions happen here (see has_change_permission)


@admin.register(ChannelCost)
class ChannelCostAdmin(admin.ModelAdmin):
    list_display = ["channel", "cost_per_interaction"]
    list_editable = ["cost_per_interaction"]


class RecomputesDueTimes(admin.ModelAdmin):
    """A policy or calendar saved or deleted here: the stored due times follow, in the same
    transaction (services.interactions_due_recompute), as through the API."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.interactions_due_recompute()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.interactions_due_recompute()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.interactions_due_recompute()


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(RecomputesDueTimes):
    list_display = ["name", "time_zone", "always_open", "is_default", "channel"]
    list_filter = ["always_open", "is_default", "channel"]


@admin.register(ServiceLevelTarget)
class ServiceLevelTargetAdmin(RecomputesDueTimes):
    list_display = [
        "type",
        "channel_or_any",
        "tier",
        "first_response_hours",
        "next_reply_hours",
        "resolution_hours",
        "business_hours",
        "calendar",
    ]
    list_editable = ["first_response_hours"]
    list_filter = ["type", "channel", "tier", "business_hours"]

    @admin.display(description="Channel", ordering="channel")
    def channel_or_any(self, target: ServiceLevelTarget) -> str:
        return target.get_channel_display() if target.channel else "any channel"


@admin.register(OfferingRating)
class OfferingRatingAdmin(admin.ModelAdmin):
    """Read-only: ratings are recorded by `offering_rating_record` (the log page, the API),
    which checks the customer holds the offering and queues the recompute."""

    list_display = ["rated_at", "customer", "offering", "rating", "recorded_by"]
    list_filter = ["rating", "offering"]
    search_fields = ["customer__name", "offering__name"]
    list_select_related = ["customer", "offering", "recorded_by"]
    raw_id_fields = ["customer", "offering", "recorded_by", "interaction"]
    date_hierarchy = "rated_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
