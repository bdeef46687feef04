"""Shared API filters."""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict, ErrorList

from . import bounds


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time compared in UTC, within the report window (core.bounds): out of
    it the request answers 400 naming the parameter. ISO allows UTC offsets up to ±23:59,
    PostgreSQL only up to ±15:59: passed through as given, such a value made the query fail
    with a 500."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [bounds.validate_report_at])
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)


class StrictBooleanField(forms.NullBooleanField):
    """true/false (1/0, yes/no), or nothing; anything else is an error, not "no filter"."""

    widget = forms.TextInput
    TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}

    def to_python(self, value):
        text = "" if value is None else str(value).strip().lower()
        if text == "":
            return None
        if text in self.TRUE | self.FALSE:
            return text in self.TRUE
        raise ValidationError("Enter true or false.", code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class StrictFilterSet(django_filters.FilterSet):
    """The base of every API filterset: a filter value that means nothing (`tier=zzz`,
    `active=maybe`, an unknown owner) or a parameter that is no filter at all (`teir=gold`)
    answers 400 naming the parameter, instead of quietly returning everything.

    Choice fields become choice filters and foreign keys model-choice filters (django-filter
    does that); booleans are strict here; a related name (owner's username, category's name)
    is declared as a ModelChoiceFilter with `to_field_name`.
    """

    # Query parameters that are not filters but are understood (pagination, DRF's format).
    NOT_FILTERS = frozenset({"page", "format"})

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        filter_class, params = super().filter_for_lookup(field, lookup_type)
        if filter_class is django_filters.BooleanFilter:
            filter_class = StrictBooleanFilter
        return filter_class, params

    def unknown_parameters(self) -> list[str]:
        return sorted(set(self.data) - set(self.filters) - self.NOT_FILTERS)

    def is_valid(self) -> bool:
        return super().is_valid() and not self.unknown_parameters()

    @property
    def errors(self):
        errors = ErrorDict(self.form.errors)
        known = ", ".join(sorted(self.filters))
        for name in self.unknown_parameters():
            message = f"Unknown filter; the filters are: {known}."
            errors[name] = ErrorList([ValidationError(message, code="unknown_filter")])
        return errors
