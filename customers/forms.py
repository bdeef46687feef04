from django import forms

from .models import Customer


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "kind",
            "name",
            "email",
            "phone",
            "external_ref",
            "status",
            "acquired_on",
            "acquisition_source",
            "preferred_channel",
            "wallet_annual",
            "wallet_source",
        ]
        widgets = {"acquired_on": forms.DateInput(attrs={"type": "date"})}

    def clean_external_ref(self):
        # Empty means "none": stored as NULL so that the uniqueness holds only for real refs.
        return self.cleaned_data["external_ref"] or None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("wallet_annual") is not None and not cleaned.get("wallet_source"):
            self.add_error("wallet_source", "Say where the wallet figure comes from.")
        return cleaned


class CustomerAdminForm(CustomerForm):
    """Admins also assign the customer to a portfolio."""

    class Meta(CustomerForm.Meta):
        fields = [*CustomerForm.Meta.fields, "owner"]
