"""Writing rows for the services of several apps: a configuration row from a dict of its
fields, and what a write already knows of an instance's related rows."""

from typing import TypeVar

from django.db.models import Model

M = TypeVar("M", bound=Model)


def record_save(instance: M, data: dict, allowed: tuple[str, ...]) -> M:
    """Set the given fields (only those in `allowed`), validate the whole row, save it."""
    unknown = set(data) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    for name, value in data.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    return instance


def related_known(instance: Model, name: str, rows: list) -> None:
    """Record the rows of `instance`'s reverse relation `name` that a service has just written,
    as prefetch_related would have read them: `instance.<name>.all()` then needs no query
    (the API's reply to a write is built from what was written)."""
    queryset = getattr(instance, name).all()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[name] = queryset
