"""The visitor's form on the hosted page."""

import re

from django import forms
from django.core.validators import RegexValidator

from .models import EMAIL_MAX, MESSAGE_MAX, NAME_MAX, PHONE_MAX

# Control characters have no place in a name or a phone number; a message keeps its line
# breaks and tabs. (NUL never gets here: core.middleware refuses it first.)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\t\u2028\u2029]")
UNREADABLE = "This contains characters we cannot read."

# The honeypot: a field people never see (moved off-screen by webform.css, skipped by the
# keyboard and screen readers) that form-filling robots fill in.
HONEYPOT = "homepage"


def _no_control(value: str) -> None:
    if _CONTROL.search(value):
        raise forms.ValidationError(UNREADABLE)


def _one_line(value: str) -> None:
    if _CONTROL.search(value) or _LINE_BREAK.search(value):
        raise forms.ValidationError(UNREADABLE)


class ContactPageForm(forms.Form):
    name = forms.CharField(
        label="Your name",
        max_length=NAME_MAX,
        validators=[_one_line],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label="Email",
        max_length=EMAIL_MAX,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Phone (optional)",
        max_length=PHONE_MAX,
        required=False,
        validators=[
            _one_line,
            RegexValidator(
                r"^\+?[0-9 ()./-]{3,40}$",
                "Digits, spaces and + ( ) - . / only, please.",
            ),
        ],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    message = forms.CharField(
        label="Message",
        max_length=MESSAGE_MAX,
        validators=[_no_control],
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    # The signed page token (webforms.tokens), checked by the view.
    token = forms.CharField(required=False, max_length=400, widget=forms.HiddenInput)

    def clean_message(self) -> str:
        # Browsers send a textarea's line breaks as CRLF: stored as plain newlines.
        return self.cleaned_data["message"].replace("\r\n", "\n").replace("\r", "\n")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[HONEYPOT] = forms.CharField(
            label="Leave this empty",
            required=False,
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )
