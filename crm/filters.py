"""Shared API filters."""

from datetime import UTC

import django_filters


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time compared in UTC. ISO allows UTC offsets up to ±23:59, PostgreSQL
    only up to ±15:59: passed through as given, such a value made the query fail with a 500."""

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)
