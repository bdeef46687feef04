from django import forms

from .choices import Channel, Direction, InteractionType
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
    next_step = forms.CharField(max_length=200, required=False)
    next_step_due = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, customer, open_items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["thread"].queryset = open_items
        if customer.preferred_channel:
            self.fields["channel"].initial = customer.preferred_channel
