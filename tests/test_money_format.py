"""Money reads the same on every page: the firm's currency, grouped digits, a true minus."""

from django.template import Context, Template
from django.test import override_settings


def render(value, places=None) -> str:
    arg = "" if places is None else f":{places}"
    return Template("{% load money %}{{ value|money" + arg + " }}").render(
        Context({"value": value})
    )


def test_an_amount_is_shown_in_the_firms_currency_with_grouped_digits():
    assert render(4380.4) == "€4,380.40"
    assert render("5350.0") == "€5,350.00"


def test_a_negative_amount_and_whole_units():
    assert render(-11000.7, 0) == "−€11,001"


@override_settings(CURRENCY="USD")
def test_the_currency_follows_the_setting():
    assert render(12) == "$12.00"


@override_settings(CURRENCY="NOK")
def test_a_currency_without_a_symbol_is_named_by_its_code():
    assert render(12) == "NOK 12.00"


def test_no_amount_is_a_dash_not_zero():
    assert render(None) == "—"
    assert render(float("nan")) == "—"
