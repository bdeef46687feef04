import re

from django import forms

CC_SEPARATORS = re.compile(r"[,;\s]+")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class ReplyForm(forms.Form):
    """The reply box. The addresses and attachments are checked by the service
    (mail.services.mail_reply_send), whose errors land on these fields."""

    reply_to = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    body = forms.CharField(
        label="Reply", widget=forms.Textarea(attrs={"rows": 10}), max_length=100_000
    )
    cc = forms.CharField(
        label="Cc",
        required=False,
        max_length=5_000,
        help_text="Other addresses that should get the reply, separated by commas.",
    )
    # Several files (<input multiple>): read from request.FILES by the view.
    attachments = forms.Field(
        label="Attachments",
        required=False,
        widget=MultipleFileInput(attrs={"multiple": True}),
    )

    def clean_cc(self) -> list[str]:
        # Line breaks split the list here like commas; the service refuses them inside one
        # address, so nothing typed can become a header of its own.
        return [part for part in CC_SEPARATORS.split(self.cleaned_data["cc"]) if part]
