"""The webhooks in the Django admin: endpoints (written through the services) and the delivery
log with "Resend"."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from . import services, tasks
from .models import Delivery, Endpoint
from .names import WebhookEvent


class EndpointAdminForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Endpoint
        fields = ["url", "events", "description", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            services.endpoint_url_check(url)
        except ValidationError as error:
            raise ValidationError(error.message_dict["url"]) from error
        return url


def _disabled_notice(request) -> None:
    """The admins' notice of endpoints the failures disabled, on every webhooks admin page."""
    count = services.endpoints_disabled_count()
    if count:
        messages.warning(
            request,
            f"{count} webhook endpoint(s) were disabled after repeated failures: see "
            "“Disabled” below; tick Active again once the receiver is fixed.",
        )


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointAdminForm
    list_display = ["url", "events_list", "active", "failure_count", "disabled_at", "description"]
    list_filter = ["active", ("disabled_at", admin.EmptyFieldListFilter)]
    search_fields = ["url", "description"]
    readonly_fields = ["failure_count", "failing_since", "disabled_at", "disabled_reason"]

    @admin.display(description="events")
    def events_list(self, obj: Endpoint) -> str:
        return ", ".join(obj.events)

    def changelist_view(self, request, extra_context=None):
        _disabled_notice(request)
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in ["url", "events", "description", "active"]}
        # The form checked the URL and the events as the services do.
        if change:
            services.endpoint_update(endpoint=obj, data=data)
            return
        active = data.pop("active")
        endpoint = services.endpoint_create(**data)
        if not active:
            services.endpoint_update(endpoint=endpoint, data={"active": False})
        obj.pk, obj._state.adding, obj.secret = endpoint.pk, False, endpoint.secret
        self.message_user(
            request,
            format_html(
                "The endpoint's signing secret, shown only now: <code>{}</code>", endpoint.secret
            ),
            messages.WARNING,
        )

    def delete_model(self, request, obj):
        services.endpoint_delete(endpoint=obj)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: what was sent where, each attempt's outcome; resend any of them."""

    list_display = [
        "id",
        "endpoint",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["=event_id", "=id"]
    list_select_related = ["endpoint"]
    readonly_fields = [
        *(f.name for f in Delivery._meta.fields if f.name != "body"),
        "payload",
    ]
    exclude = ["body"]
    actions = ["resend"]

    @admin.display(description="payload")
    def payload(self, obj: Delivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(json.loads(obj.body), indent=2))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only; the view permission shows the page

    def changelist_view(self, request, extra_context=None):
        _disabled_notice(request)
        return super().changelist_view(request, extra_context)

    @admin.action(description="Resend (same event id and body)", permissions=["view"])
    def resend(self, request, queryset) -> None:
        count = tasks.deliveries_resend(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} deliveries will be sent again now.")
