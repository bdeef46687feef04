from django import forms

from offerings.models import Offering

from .models import TodoKind
from .selectors.todo import todo_assignees


class OfferMakeForm(forms.Form):
    """Make one of the customer's next best offerings (the only ones the page shows)."""

    offering = forms.ModelChoiceField(
        queryset=Offering.objects.none(),
        error_messages={"invalid_choice": "choose one of the next best offerings shown."},
    )

    def __init__(self, *args, eligible: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offering"].queryset = Offering.objects.filter(pk__in=eligible)


class TodoActionForm(forms.Form):
    """Which to-do of the interaction (its next step or its want of an answer)."""

    kind = forms.ChoiceField(
        choices=TodoKind.choices,
        error_messages={
            "required": "say which to-do (next step or unanswered).",
            "invalid_choice": "choose next step or unanswered.",
        },
    )
    back = forms.CharField(required=False)


class TodoSnoozeForm(TodoActionForm):
    until = forms.DateField(
        error_messages={
            "required": "choose the day to snooze until.",
            "invalid": "enter a date (YYYY-MM-DD).",
        },
    )


class TodoReassignForm(TodoActionForm):
    to = forms.ModelChoiceField(
        queryset=todo_assignees(),
        error_messages={
            "required": "choose who takes the to-do.",
            "invalid_choice": "choose one of the managers listed.",
        },
    )


class GlobalSearchForm(forms.Form):
    """The top bar's search (`/search/?q=`): a name, an e-mail, a phone, a reference or words
    of an interaction."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        error_messages={"max_length": "search for at most 200 characters."},
    )
