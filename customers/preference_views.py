from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from interactions.choices import Channel

from . import knowledge, preferences
from .forms import _field_for
from .models import FactKey, FactKind, NeedStatus


class PreferenceForm(forms.Form):
    preferred_channel = forms.ChoiceField(
        choices=[("", "no preference"), *Channel.choices],
        required=False,
        label="How would you like us to contact you?",
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["preferred_channel"].initial = customer.preferred_channel
        granted = {c.channel: c.granted for c in customer.consents.all()}
        for value, label in Channel.choices:
            self.fields[f"consent__{value}"] = forms.BooleanField(
                required=False, label=label, initial=granted.get(value, False)
            )
        current = {f.key_id: f for f in knowledge.customer_current_facts(customer_id=customer.pk)}
        self.keys = list(FactKey.objects.filter(active=True, customer_editable=True))
        for key in self.keys:
            fact = current.get(key.pk)
            if key.kind == FactKind.NEED:
                self.fields[f"fact__{key.key}"] = forms.BooleanField(
                    required=False, label=f"I need: {key.label}", initial=fact is not None
                )
            else:
                field = _field_for(key)
                field.initial = fact.value if fact else None
                self.fields[f"fact__{key.key}"] = field
        self.current = current

    def consent_fields(self):
        return [self[f"consent__{value}"] for value in Channel.values]

    def fact_fields(self):
        return [self[f"fact__{key.key}"] for key in self.keys]

    def consents(self) -> dict[str, bool]:
        return {value: self.cleaned_data[f"consent__{value}"] for value in Channel.values}

    def facts(self) -> list[knowledge.FactInput]:
        stated = []
        for key in self.keys:
            value = self.cleaned_data.get(f"fact__{key.key}")
            if key.kind == FactKind.NEED:
                if value:  # a need they tick keeps the status we know, or starts unmet
                    known = self.current.get(key.pk)
                    status = known.need_status if known else NeedStatus.UNMET
                    stated.append(knowledge.FactInput(key.key, "yes", status))
            elif value not in (None, ""):
                stated.append(knowledge.FactInput(key.key, str(value)))
        return stated


@never_cache
def preference_centre(request, token: str):
    try:
        customer = preferences.preference_link_customer(token=token)
    except preferences.LinkInvalid as error:
        return render(
            request, "customers/preferences_invalid.html", {"reason": str(error)}, status=400
        )
    form = PreferenceForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            preferences.customer_preferences_submit(
                customer=customer,
                preferred_channel=form.cleaned_data["preferred_channel"],
                consents=form.consents(),
                facts=form.facts(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return render(request, "customers/preferences_thanks.html", {"customer": customer})
    return render(request, "customers/preferences.html", {"customer": customer, "form": form})
