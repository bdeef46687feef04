"""Admin pages of web forms: the forms the admin configures (with the snippet to embed them)
and, read-only, what visitors sent (the services wrote it)."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from .embed import embed_snippet
from .models import ContactForm, Submission


@admin.register(ContactForm)
class ContactFormAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "interaction_type", "active", "submission_count", "page"]
    list_filter = ["active", "interaction_type"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "intro", "interaction_type", "active"]}),
        ("After sending", {"fields": ["success_message", "confirm_by_email", "confirmation_text"]}),
        ("Embedding", {"fields": ["allowed_origins"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    # Shows the snippet to copy and a preview under the fields (render_change_form).
    change_form_template = "admin/webforms/contactform/change_form.html"

    class Media:
        js = ["js/webform_admin.js"]
        css = {"all": ["css/webform_admin.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(submission_total=Count("submissions"))

    @admin.display(description="submissions", ordering="submission_total")
    def submission_count(self, obj) -> int:
        return obj.submission_total

    @admin.display(description="page")
    def page(self, obj) -> str:
        url = reverse("webforms:form", args=[obj.slug])
        return format_html('<a href="{}">{}</a>', url, url)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            page_url = request.build_absolute_uri(reverse("webforms:form", args=[obj.slug]))
            context["embed"] = {
                "page_url": page_url,
                "snippet": embed_snippet(page_url=page_url, title=obj.name),
                "origins": obj.origins(),
            }
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "form", "customer", "sender", "interaction"]
    list_filter = ["form"]
    list_select_related = ["form", "customer", "interaction"]
    search_fields = ["customer__name", "fields__email"]
    date_hierarchy = "created_at"
    fields = ["form", "customer", "interaction", "created_at", "fields", "client_hash"]
    readonly_fields = fields

    @admin.display(description="sender")
    def sender(self, obj) -> str:
        return obj.fields.get("email", "")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
