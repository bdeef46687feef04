from django import forms
from django.contrib.auth import get_user_model

from core import bounds
from offerings.models import Offering

from .choices import Channel, Direction, InteractionType, OfferOutcome
from .models import Interaction


class InteractionForm(forms.Form):
    """Log an interaction. Configured by the profile: the preferred channel comes pre-selected."""

    channel = forms.ChoiceField(choices=Channel.choices)
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.INBOUND)
    type = forms.ChoiceField(choices=InteractionType.choices, initial=InteractionType.INQUIRY)
    subject = forms.CharField(max_length=200)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    occurred_at = forms.DateTimeField(
        required=False,
        validators=[bounds.validate_happened_at],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Leave empty for now.",
    )
    thread = forms.ModelChoiceField(
        queryset=Interaction.objects.none(),
        required=False,
        label="Continues",
        help_text="An open item of this customer that this interaction continues.",
    )
    satisfaction = forms.TypedChoiceField(
        choices=[("", "unknown")] + [(i, str(i)) for i in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    offer = forms.ModelChoiceField(
        queryset=Offering.objects.filter(active=True).order_by("name"),
        required=False,
        label="Offer made",
        help_text="An offering proposed in this interaction.",
    )
    offer_outcome = forms.ChoiceField(
        choices=[("", "not known yet"), *OfferOutcome.choices],
        required=False,
        label="Offer outcome",
    )
    next_step = forms.CharField(max_length=200, required=False)
    next_step_due = forms.DateField(
        required=False,
        validators=[bounds.validate_planned_on],
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, customer, open_items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["thread"].queryset = open_items
        if customer.preferred_channel:
            self.fields["channel"].initial = customer.preferred_channel

    def clean(self):
        data = super().clean()
        if data.get("offer_outcome") and not data.get("offer"):
            self.add_error("offer_outcome", "An outcome needs the offer it answers.")
        return data


class OfferingRatingForm(forms.Form):
    """A customer's rating (1-5) of an offering they hold, recorded by staff."""

    offering = forms.ModelChoiceField(queryset=Offering.objects.none(), label="Offering")
    rating = forms.TypedChoiceField(
        choices=[(i, f"{i} of 5") for i in range(5, 0, -1)], coerce=int, label="Rating"
    )

    def __init__(self, *args, held_offerings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offering"].queryset = held_offerings


def _staff_choices():
    users = (
        get_user_model()
        .objects.filter(groups__permissions__codename="change_interaction")
        .distinct()
    )
    return [("", "anyone"), ("me", "me"), ("none", "nobody")] + [
        (str(u.pk), u.get_full_name() or u.username) for u in users.order_by("username")
    ]


class QueueFilterForm(forms.Form):
    channel = forms.ChoiceField(choices=[("", "all channels"), *Channel.choices], required=False)
    type = forms.ChoiceField(choices=[("", "all types"), *InteractionType.choices], required=False)
    assignee = forms.ChoiceField(choices=(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = _staff_choices()


class InteractionSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Text", help_text="In subject and notes.")
    customer = forms.CharField(required=False, label="Customer")
    channel = forms.ChoiceField(choices=[("", "all channels"), *Channel.choices], required=False)
    type = forms.ChoiceField(choices=[("", "all types"), *InteractionType.choices], required=False)
    date_from = forms.DateField(
        required=False,
        label="From",
        validators=[bounds.validate_report_on],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        required=False,
        label="To",
        validators=[bounds.validate_report_on],
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end of the range is before its start.")
        return data
