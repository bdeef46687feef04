"""How money reads on a page: ``{% load money %}{{ amount|money }}`` gives "€4,380.40"
in the firm's currency (settings.CURRENCY), grouped by the active locale; ``|money:0`` rounds to
whole units. Pages still test ``can_see_money`` around every money figure (core.money)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils.formats import number_format

register = template.Library()

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "SEK": "SEK "}


def currency_symbol() -> str:
    code = settings.CURRENCY
    return SYMBOLS.get(code, f"{code} ")


@register.filter
def money(value, places: int = 2) -> str:
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not amount.is_finite():
        return "—"
    # Rounded here: Django's number_format cuts the digits past decimal_pos off.
    amount = amount.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
    sign = "−" if amount < 0 else ""
    text = number_format(abs(amount), decimal_pos=int(places), use_l10n=True, force_grouping=True)
    return f"{sign}{currency_symbol()}{text}"
