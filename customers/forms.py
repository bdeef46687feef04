from django import forms

from .knowledge import FactInput
from .models import Customer, FactKey, FactKind, FactValueType, NeedStatus


class CustomerForm(forms.ModelForm):
    """A manager's profile form. The rules (a wallet says where it comes from) are the
    services': the view shows their errors on the fields. External references are set by
    admins and imports (docs/architecture.md, "Errors never reveal other portfolios")."""

    class Meta:
        model = Customer
        fields = [
            "kind",
            "name",
            "email",
            "phone",
            "status",
            "acquired_on",
            "acquisition_source",
            "preferred_channel",
            "wallet_annual",
            "wallet_source",
        ]
        widgets = {"acquired_on": forms.DateInput(attrs={"type": "date"})}


class CustomerAdminForm(CustomerForm):
    """Admins also set the external reference and assign the customer to a portfolio."""

    class Meta(CustomerForm.Meta):
        fields = [*CustomerForm.Meta.fields, "external_ref", "owner"]

    def clean_external_ref(self):
        # Empty means "none": stored as NULL so that the uniqueness holds only for real refs.
        return self.cleaned_data["external_ref"] or None


class TeachForm(forms.Form):
    """What the customer teaches us in an interaction: the one or two questions worth asking
    next (SPEC §4, never a long form), and anything else they happened to mention."""

    other_key = forms.ModelChoiceField(
        queryset=FactKey.objects.none(),
        required=False,
        label="Also learned",
        empty_label="(nothing else)",
    )
    other_value = forms.CharField(max_length=500, required=False, label="Value")

    def __init__(self, *args, questions: list[FactKey], **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for key in questions:
            self.fields[f"fact__{key.key}"] = _field_for(key)
            if key.kind == FactKind.NEED:
                self.fields[f"need__{key.key}"] = forms.ChoiceField(
                    choices=[("", "status?"), *NeedStatus.choices],
                    required=False,
                    label=f"{key.label}: met by",
                )
        asked = [key.pk for key in questions]
        self.fields["other_key"].queryset = (
            FactKey.objects.filter(active=True).exclude(pk__in=asked).order_by("label")
        )

    def question_fields(self):
        return [self[name] for name in self.fields if name.startswith(("fact__", "need__"))]

    def clean(self):
        data = super().clean()
        if data.get("other_key") and not data.get("other_value"):
            self.add_error("other_value", "Say what they told you.")
        if data.get("other_value") and not data.get("other_key"):
            self.add_error("other_key", "Which fact is this?")
        return data

    def facts(self) -> list[FactInput]:
        """The answers given, as facts to record with the interaction."""
        answers = []
        for key in self.questions:
            value = self.cleaned_data.get(f"fact__{key.key}")
            if value not in (None, ""):
                status = self.cleaned_data.get(f"need__{key.key}", "") or ""
                answers.append(FactInput(key.key, str(value), status))
        if self.cleaned_data.get("other_key"):
            answers.append(
                FactInput(self.cleaned_data["other_key"].key, self.cleaned_data["other_value"])
            )
        return answers

    def add_fact_errors(self, error) -> None:
        """Attach each fact's validation error (`facts[i].value`, as interaction_log names
        them, i in the order of `facts()`) to the question it came from."""
        fields = [
            f"fact__{key.key}"
            for key in self.questions
            if self.cleaned_data.get(f"fact__{key.key}") not in (None, "")
        ]
        if self.cleaned_data.get("other_key"):
            fields.append("other_value")
        for path, messages in error.message_dict.items():
            index = path.removeprefix("facts[").partition("]")[0]
            field = fields[int(index)] if index.isdigit() and int(index) < len(fields) else None
            self.add_error(field, messages)


def _field_for(key: FactKey) -> forms.Field:
    common = {"required": False, "label": key.question or key.label, "help_text": key.label}
    if key.value_type == FactValueType.NUMBER:
        return forms.DecimalField(min_value=0, max_digits=14, decimal_places=2, **common)
    if key.value_type == FactValueType.CHOICE and key.choices:
        return forms.ChoiceField(choices=[("", "—"), *[(c, c) for c in key.choices]], **common)
    if key.value_type == FactValueType.BOOLEAN:
        return forms.ChoiceField(choices=[("", "—"), ("yes", "yes"), ("no", "no")], **common)
    if key.value_type == FactValueType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    return forms.CharField(max_length=500, **common)
