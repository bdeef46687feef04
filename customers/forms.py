from django import forms
from django.core.exceptions import ValidationError

from .facts import FactInput, fact_value_clean, number_fact_bounds
from .models import Customer, FactKey, FactKind, FactValueType, NeedStatus
from .services import EDITABLE_FIELDS, REFERENCE_FIELDS


class CustomerForm(forms.ModelForm):
    """A manager's profile form. The rules (a wallet says where it comes from) are the
    services': the view shows their errors on the fields. External references are set by
    admins and imports (docs/architecture.md, "Errors never reveal other portfolios")."""

    class Meta:
        model = Customer
        fields = [field for field in EDITABLE_FIELDS if field not in REFERENCE_FIELDS]
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

    def __init__(self, *args, questions: list[FactKey], money: bool = True, **kwargs):
        """``money``: whether the user may see money; if not, money facts (core.money) are only
        asked while unknown (``questions``), never offered under "Also learned"."""
        super().__init__(*args, **kwargs)
        self.questions = questions
        for key in questions:
            self.fields[f"fact__{key.key}"] = fact_field_for(key)
            if key.kind == FactKind.NEED:
                self.fields[f"need__{key.key}"] = forms.ChoiceField(
                    choices=[("", "status?"), *NeedStatus.choices],
                    required=False,
                    label=f"{key.label}: met by",
                )
        asked = [key.pk for key in questions]
        others = FactKey.objects.filter(active=True).exclude(pk__in=asked)
        if not money:
            others = others.exclude(money=True)
        self.fields["other_key"].queryset = others.order_by("label")

    def question_fields(self):
        return [self[name] for name in self.fields if name.startswith(("fact__", "need__"))]

    def clean(self):
        data = super().clean()
        if data.get("other_key") and not data.get("other_value"):
            self.add_error("other_value", "Say what they told you.")
        if data.get("other_value") and not data.get("other_key"):
            self.add_error("other_key", "Which fact is this?")
        # Each answer meets the rule the service records it by, and a problem shows on the
        # field it was typed in (the service's error names only "value").
        for field, key, value in self._answers(data):
            try:
                fact_value_clean(key, value)
            except ValidationError as error:
                self.add_error(field, error.message_dict.get("value", error.messages))
        return data

    def _answers(self, data) -> list[tuple[str, FactKey, object]]:
        answers = [
            (f"fact__{key.key}", key, data[f"fact__{key.key}"])
            for key in self.questions
            if data.get(f"fact__{key.key}") not in (None, "")
        ]
        if data.get("other_key") and data.get("other_value"):
            answers.append(("other_value", data["other_key"], data["other_value"]))
        return answers

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
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for path, messages in error.message_dict.items():
            index = path.removeprefix("facts[").partition("]")[0]
            field = fields[int(index)] if index.isdigit() and int(index) < len(fields) else None
            self.add_error(field, messages)


def fact_field_for(key: FactKey) -> forms.Field:
    common = {"required": False, "label": key.question or key.label, "help_text": key.label}
    if key.value_type == FactValueType.NUMBER:
        limits = number_fact_bounds(key)  # the same bounds the service applies
        return forms.DecimalField(
            min_value=limits.minimum,
            max_value=limits.maximum,
            max_digits=limits.max_digits,
            decimal_places=limits.places,
            **common,
        )
    if key.value_type == FactValueType.CHOICE and key.choices:
        return forms.ChoiceField(choices=[("", "—"), *[(c, c) for c in key.choices]], **common)
    if key.value_type == FactValueType.BOOLEAN:
        return forms.ChoiceField(choices=[("", "—"), ("yes", "yes"), ("no", "no")], **common)
    if key.value_type == FactValueType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    return forms.CharField(max_length=500, **common)


class CustomerEmailForm(forms.Form):
    """Another address the customer writes from (customers.services.customer_email_add)."""

    address = forms.EmailField(label="Another email address", max_length=254)


class MergeForm(forms.Form):
    """Which customer merges into this one, and where both know a fact differently, whose
    value stays current (customers.services.customer_merge). `facts` are the preview's
    conflicting facts: one choice each, `fact-<key>`."""

    duplicate = forms.IntegerField(
        label="Customer number of the duplicate", min_value=1, max_value=2**63 - 1
    )

    def __init__(self, *args, facts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fact_keys = []
        for fact in facts:
            name = f"fact-{fact['key']}"
            self.fact_keys.append((name, fact["key"]))
            self.fields[name] = forms.ChoiceField(
                label=fact["label"],
                choices=[
                    ("survivor", f"Keep this customer's: {fact['survivor']}"),
                    ("duplicate", f"Take the duplicate's: {fact['duplicate']}"),
                ],
                initial=fact["current"],
                widget=forms.RadioSelect,
            )

    def fact_choices(self) -> dict[str, str]:
        return {key: self.cleaned_data[name] for name, key in self.fact_keys}
