from django import forms

from offerings.models import Offering


class OfferMakeForm(forms.Form):
    """Make one of the customer's next best offerings (the only ones the page shows)."""

    offering = forms.ModelChoiceField(
        queryset=Offering.objects.none(),
        error_messages={"invalid_choice": "choose one of the next best offerings shown."},
    )

    def __init__(self, *args, eligible: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offering"].queryset = Offering.objects.filter(pk__in=eligible)


class GlobalSearchForm(forms.Form):
    """The top bar's search (`/search/?q=`): a name, an e-mail, a phone, a reference or words
    of an interaction."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        error_messages={"max_length": "search for at most 200 characters."},
    )
