from django import forms

from .models import ImportKind

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportKind.choices, label="What the file holds")
    file = forms.FileField(help_text="UTF-8 CSV with a header line, or a CDNOW text file.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 200 MB; use the command.")
        return upload


class EraseForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        help_text="Why and on whose request, e.g. 'request by e-mail of 2026-11-20'. "
        "No personal data: this record is kept.",
    )
    confirm = forms.BooleanField(
        label="I understand that the customer's personal data is removed for good."
    )
