"""Admin pages of the email channel: the mailboxes (IMAP settings, a password stored
encrypted and never shown back, the poll's status, "Poll now"), the rules, the canned
replies (a body that is not a working template is refused on the form), the bouncing
addresses (cleared by deleting them) and the messages, read-only: they are written only by
the inbound service and the send (docs/architecture.md)."""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from core.forms import form_add_service_errors
from interactions.choices import InteractionType

from . import imap
from .models import Attachment, BouncingAddress, CannedReply, Mailbox, Message, Rule
from .secrets import secret_encrypt
from .services import canned_reply_check

# The types an inbound message may get (a mailbox's default, a rule's outcome).
INBOUND_TYPES = [
    (value, label)
    for value, label in InteractionType.choices
    if value not in {InteractionType.OFFER, InteractionType.OUTREACH, InteractionType.TEACHING}
]
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# "Poll now" runs in the request: at most this many messages, the rest by the schedule.
POLL_NOW_LIMIT = 200


class MailboxAdminForm(forms.ModelForm):
    default_type = forms.ChoiceField(choices=INBOUND_TYPES, initial=InteractionType.INQUIRY)
    password = forms.CharField(
        label="IMAP password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted (mail.secrets) and never shown again. Leave empty to keep "
        "the one stored. Prefer an environment variable where you can.",
    )
    password_forget = forms.BooleanField(
        label="Forget the stored password", required=False, initial=False
    )

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "address",
            "is_default",
            "default_type",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_user",
            "imap_password_env",
            "imap_folder",
            "imap_processed_folder",
            "imap_enabled",
        ]

    def clean_imap_password_env(self):
        name = self.cleaned_data["imap_password_env"].strip()
        if name and not ENV_NAME.match(name):
            raise ValidationError("Letters, digits and underscores, not starting with a digit.")
        return name

    def clean(self):
        data = super().clean()
        password, env = data.get("password", ""), data.get("imap_password_env", "")
        if password and env:
            self.add_error(
                "password", "Give the password in an environment variable or here, not both."
            )
        if data.get("imap_host"):
            if not data.get("imap_user"):
                self.add_error("imap_user", "The IMAP user is needed to poll the mailbox.")
            stored = self.instance.imap_password_encrypted and not data.get("password_forget")
            if not (password or env or stored):
                self.add_error(
                    "password",
                    "A password is needed to poll the mailbox: enter it, or name the "
                    "environment variable that holds it.",
                )
        folder, processed = data.get("imap_folder"), data.get("imap_processed_folder")
        if folder and folder == processed:
            self.add_error("imap_processed_folder", "Processed mail must go to another folder.")
        return data

    def save(self, commit=True):
        mailbox = super().save(commit=False)
        if self.cleaned_data.get("password"):
            mailbox.imap_password_encrypted = secret_encrypt(self.cleaned_data["password"])
        elif self.cleaned_data.get("password_forget") or self.cleaned_data.get("imap_password_env"):
            mailbox.imap_password_encrypted = ""
        if commit:
            mailbox.save()
        return mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxAdminForm
    list_display = [
        "name",
        "address",
        "is_default",
        "imap_host",
        "imap_enabled",
        "polled_at",
        "poll_status",
    ]
    list_filter = ["imap_enabled", "imap_security"]
    search_fields = ["name", "address", "imap_host"]
    readonly_fields = ["password_stored", "polled_at", "poll_failures", "poll_error"]
    actions = ["poll_now"]
    fieldsets = [
        (None, {"fields": ["name", "address", "is_default", "default_type"]}),
        (
            "IMAP (empty host: not polled; mail may still come by the pipe or the endpoint)",
            {
                "fields": [
                    "imap_host",
                    "imap_port",
                    "imap_security",
                    "imap_user",
                    "imap_password_env",
                    "password",
                    "password_stored",
                    "password_forget",
                    "imap_folder",
                    "imap_processed_folder",
                    "imap_enabled",
                ]
            },
        ),
        ("Last poll", {"fields": ["polled_at", "poll_failures", "poll_error"]}),
    ]

    @admin.display(description="Password stored")
    def password_stored(self, mailbox: Mailbox) -> str:
        return "yes (encrypted)" if mailbox.imap_password_encrypted else "no"

    @admin.display(description="Poll")
    def poll_status(self, mailbox: Mailbox) -> str:
        if not mailbox.imap_host:
            return "not polled"
        if mailbox.poll_failures:
            return f"failing ({mailbox.poll_failures}×): {mailbox.poll_error}"
        return mailbox.poll_error or ("ok" if mailbox.polled_at else "not yet polled")

    @admin.action(
        description=f"Poll now (up to {POLL_NOW_LIMIT} messages each)", permissions=["change"]
    )
    def poll_now(self, request, queryset):
        for mailbox in queryset:
            if not mailbox.imap_host:
                self.message_user(
                    request, f"{mailbox.address}: no IMAP host, not polled.", messages.WARNING
                )
                continue
            result = imap.mailbox_poll(mailbox, force=True, limit=POLL_NOW_LIMIT)
            level = messages.ERROR if result.error or result.skipped else messages.SUCCESS
            self.message_user(request, f"{mailbox.address}: {result}", level)


class RuleAdminForm(forms.ModelForm):
    type = forms.ChoiceField(choices=INBOUND_TYPES, initial=InteractionType.COMPLAINT)

    class Meta:
        model = Rule
        fields = ["mailbox", "field", "contains", "type", "order"]


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleAdminForm
    list_display = ["__str__", "mailbox", "order"]
    list_editable = ["order"]
    list_filter = ["mailbox", "field", "type"]
    list_select_related = ["mailbox"]
    search_fields = ["contains"]


class CannedReplyAdminForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["title", "body", "active"]

    def clean(self):
        data = super().clean()
        if data.get("body"):
            try:
                canned_reply_check(data["body"])
            except ValidationError as error:
                form_add_service_errors(self, error)
        return data


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    form = CannedReplyAdminForm
    list_display = ["title", "active"]
    list_filter = ["active"]
    search_fields = ["title", "body"]


@admin.register(BouncingAddress)
class BouncingAddressAdmin(admin.ModelAdmin):
    """Recorded by the inbound service from bounces. Clearing one (deleting it) lets mail
    go to the address again; a later message from it clears it too."""

    list_display = ["address", "bounces", "first_bounced_at", "last_bounced_at", "reason"]
    search_fields = ["address"]
    date_hierarchy = "last_bounced_at"
    actions = ["clear"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "clear" says what deleting means here
        return actions

    @admin.action(
        description="Clear the selected addresses (mail goes to them again)",
        permissions=["delete"],
    )
    def clear(self, request, queryset):
        cleared, _ = queryset.delete()
        self.message_user(request, f"{cleared} address(es) cleared.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ["filename", "content_type", "size", "file", "refused"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only: messages are written by the inbound service and the send."""

    list_display = [
        "created_at",
        "direction",
        "kind",
        "via",
        "from_address",
        "subject",
        "mailbox",
        "delivery",
    ]
    list_filter = ["direction", "kind", "via", "delivery", "match", "mailbox"]
    list_select_related = ["mailbox"]
    search_fields = ["from_address", "subject", "message_id"]
    date_hierarchy = "created_at"
    raw_id_fields = ["interaction", "sent_by", "mailbox"]
    inlines = [AttachmentInline]
    fields = [
        "message_id",
        "direction",
        "kind",
        "via",
        "mailbox",
        "interaction",
        "match",
        "from_name",
        "from_address",
        "to",
        "cc",
        "subject",
        "date",
        "in_reply_to",
        "references",
        "text",
        "text_full",
        "raw",
        "size",
        "problems",
        "delivery",
        "attempts",
        "delivery_error",
        "sent_at",
        "sent_by",
        "created_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
