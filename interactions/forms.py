from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model

from core import bounds
from offerings.models import Offering

from .choices import AssignmentMode, Channel, Direction, InteractionType, OfferOutcome
from .models import Interaction
from .services import OrderLineInput


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


class OfferingSelect(forms.Select):
    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        offering = getattr(value, "instance", None)
        if offering is not None and getattr(self, "money", True):
            option["attrs"]["data-price"] = str(offering.price)
            option["attrs"]["data-cost"] = str(offering.cost)
        return option


class OrderLineForm(forms.Form):
    """One line of an order. Price and cost default to the offering's (list price, bundle
    cost); those who may see money may change them and give a discount; for the others the
    line is priced by the offering alone (SPEC §2: support never sees money)."""

    offering = forms.ModelChoiceField(
        queryset=Offering.objects.none(), widget=OfferingSelect, empty_label="choose an offering"
    )
    quantity = forms.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        initial=1,
        widget=forms.NumberInput(attrs={"step": "any", "class": "qty"}),
    )
    unit_price = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Empty: the list price.",
        widget=forms.NumberInput(attrs={"step": "0.01", "class": "price"}),
    )
    discount = forms.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        required=False,
        label="Discount %",
        widget=forms.NumberInput(attrs={"step": "any", "class": "discount"}),
    )
    unit_cost = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Empty: the offering's cost.",
        widget=forms.NumberInput(attrs={"step": "0.01", "class": "cost"}),
    )

    def __init__(self, *args, offerings, money: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        offering = self.fields["offering"]
        offering.queryset = offerings  # type: ignore[attr-defined]  # a ModelChoiceField
        offering.widget.money = money  # type: ignore[attr-defined]  # read by OfferingSelect
        if not money:
            for name in ("unit_price", "discount", "unit_cost"):
                del self.fields[name]

    def line(self) -> OrderLineInput:
        data = self.cleaned_data
        offering = data["offering"]
        price = data.get("unit_price")
        cost = data.get("unit_cost")
        discount = data.get("discount")
        return OrderLineInput(
            offering_id=offering.pk,
            quantity=data["quantity"],
            unit_price=offering.price if price is None else price,
            unit_cost=offering.cost if cost is None else cost,
            discount=(discount or Decimal("0")) / 100,
        )


class BaseOrderLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, offerings, money: bool = True, **kwargs):
        self.offerings = offerings
        self.money = money
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "offerings": self.offerings, "money": self.money}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            offerings=self.offerings,
            money=self.money,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form

    def lines(self) -> list[OrderLineInput]:
        """The lines filled in (rows left empty are not lines)."""
        return [form.line() for form in self.forms if form.has_changed() and form.is_valid()]


# Up to 50 lines an order in the form (the API takes more); rows are added in the page.
OrderLineFormSet = forms.formset_factory(
    OrderLineForm,
    formset=BaseOrderLineFormSet,
    extra=1,
    max_num=50,
    validate_max=True,
    absolute_max=50,
)


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


class ServiceLevelReportForm(forms.Form):
    since = forms.DateField(
        required=False,
        label="From",
        validators=[bounds.validate_report_on],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        required=False,
        label="To",
        validators=[bounds.validate_report_on],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    by = forms.ChoiceField(
        required=False,
        label="By",
        choices=[("channel", "channel"), ("type", "type"), ("person", "person"), ("tier", "tier")],
    )

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end of the range is before its start.")
        return data


class SupportAssignmentForm(forms.Form):
    assignment = forms.ChoiceField(
        label="New items go to", choices=AssignmentMode.choices, widget=forms.RadioSelect
    )
