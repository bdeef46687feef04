"""What customers taught us: recording facts with provenance, and what to ask next (SPEC §4).

`customer_fact_record` is the only writer of facts. A new value supersedes the current one,
which is kept as history; the same value again changes nothing (never ask, never store twice).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from core import bounds
from core.money import can_see_money
from events.names import EventName
from events.services import event_publish

from .models import (
    WALLET_FACT,
    Customer,
    CustomerFact,
    FactKey,
    FactKind,
    FactSource,
    FactValueType,
    NeedStatus,
    WalletSource,
)

# How many questions the log form suggests: one or two, never a long form (SPEC §4).
QUESTIONS_TO_SUGGEST = 2


# A starting vocabulary (the admin changes it in the admin).
DEFAULT_FACTS = [
    # key, label, question, kind, value_type, choices, weight
    (
        "wallet_annual",
        "Annual category spend (wallet)",
        "Roughly what do you spend a year on this, with anyone?",
        "other",
        "number",
        [],
        90,
    ),
    (
        "delivery_window",
        "Preferred delivery window",
        "When do deliveries suit you best?",
        "delivery",
        "choice",
        ["morning", "afternoon", "evening", "weekend"],
        60,
    ),
    (
        "household_or_team_size",
        "People served",
        "How many people does this serve?",
        "size",
        "number",
        [],
        55,
    ),
    (
        "taste_profile",
        "Taste profile",
        "What do you like in your coffee?",
        "taste",
        "choice",
        ["fruity", "chocolatey", "nutty", "dark and bold", "no preference"],
        45,
    ),
    (
        "budget_constraint",
        "Budget constraint",
        "Is there a budget we should keep to?",
        "constraint",
        "text",
        [],
        40,
    ),
]


# The starting vocabulary's money facts (core.money): hidden from roles that may not see money.
MONEY_FACTS = {WALLET_FACT}


def fact_vocabulary_defaults_ensure(*, fact_key_model=FactKey) -> None:
    """Create the starting vocabulary where missing. Takes the model for the data migration
    (whose historical model may predate the money flag)."""
    has_money_flag = any(field.name == "money" for field in fact_key_model._meta.fields)
    for key, label, question, kind, value_type, choices, weight in DEFAULT_FACTS:
        defaults = {
            "label": label,
            "question": question,
            "kind": kind,
            "value_type": value_type,
            "choices": choices,
            "value_weight": weight,
        }
        if has_money_flag:
            defaults["money"] = key in MONEY_FACTS
        fact_key_model.objects.get_or_create(key=key, defaults=defaults)


@dataclass(frozen=True)
class NumberBounds:
    """What a number fact may be: from `minimum` to `maximum`, with at most `places` decimals
    (0: a whole number)."""

    minimum: Decimal
    maximum: Decimal
    places: int

    @property
    def max_digits(self) -> int:
        return len(str(int(self.maximum))) + self.places

    def describe(self) -> str:
        kind = "a whole number" if self.places == 0 else "a number"
        text = f"{kind} from {self.minimum:,} to {self.maximum:,}"
        if self.places:
            text += f" with at most {self.places} decimal places"
        return text


def _column_bounds(model, name: str) -> NumberBounds:
    """Zero to what a DecimalField holds, with its decimal places."""
    field = model._meta.get_field(name)
    unit = Decimal(1).scaleb(-field.decimal_places)
    return NumberBounds(
        Decimal(0),
        Decimal(10) ** (field.max_digits - field.decimal_places) - unit,
        field.decimal_places,
    )


# Bounds of number facts by key (the wallet: what Customer.wallet_annual holds, since the fact
# sets it); a number fact not listed here gets DEFAULT_NUMBER_BOUNDS. docs/bounds.md.
NUMBER_FACT_BOUNDS = {
    WALLET_FACT: _column_bounds(Customer, "wallet_annual"),
    "household_or_team_size": NumberBounds(Decimal(1), Decimal(1_000_000), 0),
}
DEFAULT_NUMBER_BOUNDS = NumberBounds(Decimal(0), Decimal(10) ** 12, 4)


def number_fact_bounds(key: FactKey) -> NumberBounds:
    return NUMBER_FACT_BOUNDS.get(key.key, DEFAULT_NUMBER_BOUNDS)


@dataclass(frozen=True)
class FactInput:
    key: str
    value: str
    need_status: str = ""
    source: str = FactSource.STAFF


def fact_value_clean(key: FactKey, value) -> str:
    """The value as stored, or a ValidationError that says what is wrong with it."""
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValidationError({"value": f"Give a value for “{key.label}”."})
    if key.value_type == FactValueType.NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValidationError({"value": f"“{key.label}” must be a number."}) from None
        limits = number_fact_bounds(key)
        if not number.is_finite() or number < 0:
            raise ValidationError({"value": f"“{key.label}” must be zero or more."})
        if (
            not limits.minimum <= number <= limits.maximum
            or -number.normalize().as_tuple().exponent > limits.places
        ):
            raise ValidationError({"value": f"“{key.label}” must be {limits.describe()}."})
        return format(number.normalize(), "f")  # "800", "12.5": never "8E+2"
    if key.value_type == FactValueType.CHOICE and key.choices and text not in key.choices:
        allowed = ", ".join(key.choices)
        raise ValidationError({"value": f"“{key.label}” must be one of: {allowed}."})
    if key.value_type == FactValueType.BOOLEAN:
        lowered = text.lower()
        if lowered not in {"yes", "no", "true", "false"}:
            raise ValidationError({"value": f"“{key.label}” must be yes or no."})
        return "yes" if lowered in {"yes", "true"} else "no"
    if key.value_type == FactValueType.DATE:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                {"value": f"“{key.label}” must be a date (YYYY-MM-DD)."}
            ) from None
        try:
            bounds.validate_planned_on(day)
        except ValidationError as error:
            raise ValidationError({"value": f"“{key.label}”: {' '.join(error.messages)}"}) from None
        return day.isoformat()
    if len(text) > 500:
        raise ValidationError({"value": "At most 500 characters."})
    return text


@transaction.atomic
def customer_fact_record(
    *,
    customer: Customer,
    key: FactKey | str,
    value,
    recorded_by,
    need_status: str = "",
    source_interaction=None,
    source: str = FactSource.STAFF,
) -> CustomerFact:
    """Record what the customer taught us. Returns the current fact for that key.

    ``recorded_by`` is the staff user who recorded it (None: the customer stated it themself,
    ``source=FactSource.CUSTOMER``, or a system did).
    """
    if isinstance(key, str):
        key = FactKey.objects.filter(key=key, active=True).first()
        if key is None:
            raise ValidationError({"key": "Unknown or inactive fact."})
    if key.money:
        _money_fact_guard(customer=customer, key=key, recorded_by=recorded_by)
    clean = fact_value_clean(key, value)
    if key.kind == FactKind.NEED:
        need_status = need_status or NeedStatus.UNMET
        if need_status not in NeedStatus.values:
            raise ValidationError(
                {"need_status": f"Must be one of {', '.join(NeedStatus.values)}."}
            )
    elif need_status:
        raise ValidationError({"need_status": "Only needs have a status."})
    current = (
        CustomerFact.objects.select_for_update()
        .filter(customer=customer, key=key, is_current=True)
        .first()
    )
    if current is not None and (current.value, current.need_status) == (clean, need_status):
        return current
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    fact = CustomerFact.objects.create(
        customer=customer,
        key=key,
        value=clean,
        need_status=need_status,
        source=source,
        source_interaction=source_interaction,
        recorded_by=recorded_by,
        supersedes=current,
    )
    if key.key == WALLET_FACT:
        # The wallet lives on the profile, where the valuation reads it.
        Customer.objects.filter(pk=customer.pk).update(
            wallet_annual=Decimal(clean), wallet_source=WalletSource.STATED
        )
        customer.wallet_annual, customer.wallet_source = Decimal(clean), WalletSource.STATED
    event_publish(
        EventName.FACT_LEARNED,
        customer_id=customer.pk,
        payload={"fact_id": fact.pk, "key": key.key, "kind": key.kind, "source": source},
    )
    return fact


def _money_fact_guard(*, customer: Customer, key: FactKey, recorded_by) -> None:
    """A role that may not see money may state a money fact only while none is known: it can
    neither overwrite a value it cannot see nor confirm a guess by posting it (the answer is
    the same whatever the value). Locks the customer, so two writers take turns."""
    if recorded_by is None or can_see_money(recorded_by):
        return
    wallet = (
        Customer.objects.select_for_update()
        .filter(pk=customer.pk)
        .values_list("wallet_annual", flat=True)
        .first()
    )
    known = CustomerFact.objects.filter(customer=customer, key=key, is_current=True).exists()
    if known or (key.key == WALLET_FACT and wallet is not None):
        raise ValidationError(
            {"key": f"“{key.label}” is already known; only roles that see money figures change it."}
        )


def customer_current_facts(*, customer_id: int, money: bool = True) -> QuerySet[CustomerFact]:
    """The current facts; without the money facts (core.money) when ``money`` is False."""
    facts = (
        CustomerFact.objects.filter(customer_id=customer_id, is_current=True)
        .select_related("key", "recorded_by", "source_interaction", "supersedes")
        .order_by("key__kind", "key__label")
    )
    return facts if money else facts.exclude(key__money=True)


def customer_fact_history(*, customer_id: int) -> QuerySet[CustomerFact]:
    return (
        CustomerFact.objects.filter(customer_id=customer_id)
        .select_related("key", "recorded_by", "source_interaction")
        .order_by("key__label", "-recorded_at", "-id")
    )


def customer_next_questions(
    *, customer: Customer, limit: int = QUESTIONS_TO_SUGGEST
) -> list[FactKey]:
    """The most valuable facts still unknown about the customer, the wallet among them."""
    known = CustomerFact.objects.filter(customer=customer, is_current=True).values("key_id")
    unknown = FactKey.objects.filter(active=True).exclude(pk__in=known)
    if customer.wallet_annual is not None:
        unknown = unknown.exclude(key=WALLET_FACT)
    return list(unknown.order_by("-value_weight", "label")[:limit])


# --- The vocabulary (admins: the Django admin and /api/fact-keys/) -----------------------------

FACT_KEY_FIELDS = (
    "key",
    "label",
    "question",
    "kind",
    "value_type",
    "choices",
    "category",
    "value_weight",
    "customer_editable",
    "money",
    "active",
)


def _fact_key_save(fact_key: FactKey, data: dict) -> FactKey:
    unknown = set(data) - set(FACT_KEY_FIELDS)
    if unknown:
        raise TypeError(f"unknown fact key fields: {sorted(unknown)}")
    if isinstance(data.get("choices"), list):
        data = {
            **data,
            "choices": [c.strip() if isinstance(c, str) else c for c in data["choices"]],
        }
    for field, value in data.items():
        setattr(fact_key, field, value)
    fact_key.full_clean()
    fact_key.save()
    return fact_key


@transaction.atomic
def fact_key_create(*, key: str, label: str, **fields) -> FactKey:
    """A new thing customers can teach us (the model's rules: a choice lists its values)."""
    return _fact_key_save(FactKey(), {"key": key, "label": label, **fields})


@transaction.atomic
def fact_key_update(*, fact_key: FactKey, data: dict) -> FactKey:
    """Change a fact key. What recorded facts rely on stays: the key itself (code and
    imports name it), the value type once facts are recorded (their values were checked
    against it), and the money flag of the money facts the profile mirrors (the wallet).
    Deactivating (``active=False``) stops asking for it; its facts stay."""
    errors = {}
    if "key" in data and data["key"] != fact_key.key:
        errors["key"] = "A fact key keeps its key; add a new one instead."
    if (
        "value_type" in data
        and data["value_type"] != fact_key.value_type
        and fact_key.facts.exists()
    ):
        errors["value_type"] = "Facts were recorded with this type; it stays."
    if fact_key.key in MONEY_FACTS and data.get("money") is False:
        errors["money"] = f"“{fact_key.label}” is a money figure (core.money); it stays one."
    if errors:
        raise ValidationError(errors)
    return _fact_key_save(fact_key, data)
