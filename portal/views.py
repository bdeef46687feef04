"""The customer's preference centre page: the signed link is the credential, not a session."""

from django import forms
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from core.ratelimit import client_address, rate_limit_hit
from customers import facts as customer_facts
from customers import preference_links
from customers.choices import Channel
from customers.forms import fact_field_for
from customers.models import FactKind, NeedStatus

from . import services


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
        # Never a money fact (core.money): not shown, not pre-filled, not taken.
        current = {
            f.key_id: f
            for f in customer_facts.customer_current_facts(customer_id=customer.pk, money=False)
        }
        self.keys = list(preference_links.preference_fact_keys())
        for key in self.keys:
            fact = current.get(key.pk)
            if key.kind == FactKind.NEED:
                self.fields[f"fact__{key.key}"] = forms.BooleanField(
                    required=False, label=f"I need: {key.label}", initial=fact is not None
                )
            else:
                field = fact_field_for(key)
                field.initial = fact.value if fact else None
                self.fields[f"fact__{key.key}"] = field
        self.current = current

    def consent_fields(self):
        return [self[f"consent__{value}"] for value in Channel.values]

    def fact_fields(self):
        return [self[f"fact__{key.key}"] for key in self.keys]

    def consents(self) -> dict[str, bool]:
        return {value: self.cleaned_data[f"consent__{value}"] for value in Channel.values}

    def facts(self) -> list[customer_facts.FactInput]:
        stated = []
        for key in self.keys:
            value = self.cleaned_data.get(f"fact__{key.key}")
            if key.kind == FactKind.NEED:
                if value:  # a need they tick keeps the status we know, or starts unmet
                    known = self.current.get(key.pk)
                    status = known.need_status if known else NeedStatus.UNMET
                    stated.append(customer_facts.FactInput(key.key, "yes", status))
            elif value not in (None, ""):
                stated.append(customer_facts.FactInput(key.key, str(value)))
        return stated


TOO_MANY = "Too many attempts from here. Please try again in an hour."


def _refused(request, reason: str, status: int):
    response = render(request, "portal/preferences_invalid.html", {"reason": reason}, status=status)
    if status == 429:
        response["Retry-After"] = "3600"
    return response


@never_cache
def preference_centre(request, token: str):
    # The page is the customer's: whoever is signed in in this browser, nothing here is theirs
    # (what is stated is recorded as stated by the customer, and no staff page shows).
    request.user = AnonymousUser()
    posting = request.method == "POST"
    per_address = (
        settings.PREFERENCE_CENTRE_RATE_PER_IP
        if posting
        else settings.PREFERENCE_CENTRE_VIEWS_PER_IP
    )
    scope = "preference-centre-post" if posting else "preference-centre-view"
    if rate_limit_hit(scope=scope, ident=client_address(request), rate=per_address):
        return _refused(request, TOO_MANY, 429)
    try:
        customer = preference_links.preference_link_customer(token=token)
    except preference_links.LinkWithdrawn as error:
        return _refused(request, str(error), 410)
    except preference_links.LinkInvalid as error:
        return _refused(request, str(error), 400)
    link = f"{customer.pk}.{customer.preference_link_version}"
    if posting and rate_limit_hit(
        scope="preference-centre-link", ident=link, rate=settings.PREFERENCE_CENTRE_RATE_PER_LINK
    ):
        return _refused(request, TOO_MANY, 429)
    form = PreferenceForm(request.POST if posting else None, customer=customer)
    if posting and form.is_valid():
        try:
            services.customer_preferences_submit(
                customer=customer,
                preferred_channel=form.cleaned_data["preferred_channel"],
                consents=form.consents(),
                facts=form.facts(),
            )
        except preference_links.LinkWithdrawn as error:
            return _refused(request, str(error), 410)
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            return render(request, "portal/preferences_thanks.html", {"customer": customer})
    return render(
        request,
        "portal/preferences.html",
        {"customer": customer, "form": form},
        status=400 if posting else 200,
    )
