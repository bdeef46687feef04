"""Shared API filters."""

from datetime import UTC

import django_filters

from . import bounds


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time compared in UTC, within the report window (crm.bounds): out of
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
